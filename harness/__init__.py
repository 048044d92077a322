"""What the tests and the benchmarks both drive: the emulator as a process (``emulator``) and
throwaway Pulumi projects on the real CLI (``project``).  Neither is part of the product."""
