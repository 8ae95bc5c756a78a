// Every crash point, in the order the commands reach them: the list of
// `rampart::crash_points::ALL`. A file of its own so that the integration test includes the same
// list (include!) without linking the runtime crate.
&[
    // create (also the first half of run)
    "create:state-dir-made",
    "create:config-saved",
    "create:state-saved",
    "create:fifo-made",
    "create:before-clone",
    "create:init-cloned",
    "create:pid-saved",
    "create:maps-written",
    "create:cgroup-joined",
    "create:cgroup-applied",
    "create:oom-score-set",
    "create:runtime-hooks-run",
    "create:go-sent",
    "init:namespaces-made",
    "init:rootfs-ready",
    "init:confined",
    "create:init-ready",
    "create:pid-file-written",
    "create:done",
    // start
    "start:fifo-opened",
    "start:fifo-written",
    "start:fifo-removed",
    "start:state-saved",
    "start:poststart-hooks-run",
    // run
    "run:created",
    "run:started",
    "run:workload-exited",
    // exec
    "exec:joiner-forked",
    "exec:pid-received",
    "exec:cgroup-joined",
    "exec:go-sent",
    "exec:process-execed",
    "exec:pid-file-written",
    "exec:process-exited",
    // kill
    "kill:init-signalled",
    "kill:all-signalled",
    // update, pause, resume
    "update:applied",
    "pause:frozen",
    "resume:thawed",
    // delete (also the end of run)
    "delete:thawed",
    "delete:processes-killed",
    "delete:cgroup-removed",
    "delete:poststop-hooks-run",
]
