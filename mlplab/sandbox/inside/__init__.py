"""Code that runs inside a submission's sandbox: it imports nothing from ``mlplab.sandbox.host``."""
