//! seccomp: compiles the OCI `linux.seccomp` section into a BPF program and installs it.
//! (Being written; see issue 5.)
