"""The untrusted side and its transport.

``inside/`` is the code that runs in a submission's sandbox (the fork server ``zygote``, a ``worker``'s
request loop, the student ``session``); ``host/`` runs in the grading process (``launch`` and ``budget``:
how a sandbox starts; ``protocol``, ``pool``, ``remote_student``: talking to it). Both sides share the
value-only channel (``values``) and the ``Student`` interface graders use (``student``)."""
