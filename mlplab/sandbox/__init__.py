"""The untrusted side and its transport: how a submission's sandbox starts (``launch``), its fork
server (``zygote``) and workers, the value-only channel (``values``), and the ``Student`` handle
graders use to call student code (``student``, ``worker_client``)."""
