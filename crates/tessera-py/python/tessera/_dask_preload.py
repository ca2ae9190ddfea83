"""A Dask preload for the worker processes of Tessera's own LocalCluster
(`tessera.dask.local_client`): they ignore SIGINT. Ctrl-C at a terminal
reaches every process of the foreground group, the workers with the
client; the client answers it (closing the cluster, which ends them), and
each worker would otherwise print its own KeyboardInterrupt traceback."""

import signal


def dask_setup(worker):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
