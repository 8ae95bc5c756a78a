# containerd without CRI: ctr picks the runtime binary and its state root per container.
ctr run --runc-binary /usr/local/bin/rampart --runc-root /run/containerd/rampart docker.io/library/busybox:latest hello echo hello
