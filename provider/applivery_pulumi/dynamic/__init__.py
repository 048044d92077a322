"""The dynamic resource for Python programs: ``AppleDevicePolicy``, its ``*Args``, what the
program checks before registering, ``PolicySet`` and the ``import_`` option."""
