# buildah: an image built from scratch, whose build step runs under rampart.
# ROOTFS is a folder holding a root filesystem (the tests use a busybox-static one).
ctr=$(buildah from scratch)
buildah copy "$ctr" "$ROOTFS" /
buildah run --runtime /usr/local/bin/rampart --network none "$ctr" -- sh -c 'echo built-by-run > /etc/motd; cat /etc/motd'
buildah commit "$ctr" localhost/hello:latest
buildah rm "$ctr"
