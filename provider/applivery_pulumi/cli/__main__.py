import sys

from applivery_pulumi.cli.main import main

sys.exit(main())
