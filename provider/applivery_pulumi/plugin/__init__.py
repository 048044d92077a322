"""The provider plugin ``pulumi-resource-applivery``: the server, its schema and the Python
classes over it."""
