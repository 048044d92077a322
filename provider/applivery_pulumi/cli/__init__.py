"""``applivery-pulumi``: the command line (``export``)."""
