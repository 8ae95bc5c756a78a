/* What an engine's shim does for a detached container: it is the child subreaper of the runtime
 * it starts, so the container's init (orphaned when `rampart run -d` returns) is reparented to it
 * and reaped the moment it exits. Runs argv[1..], waits until it has no child left, exits with
 * the runtime's status. Without a prompt reaper the exited init stays a zombie, which keeps its
 * pid namespace (and that namespace's inode number) allocated. */
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("reaper_shim");
        return 125;
    }
    pid_t runtime = fork();
    if (runtime == 0) {
        execv(argv[1], argv + 1);
        perror("execv");
        _exit(127);
    }
    int rc = 126, st;
    pid_t w;
    while ((w = wait(&st)) > 0)
        if (w == runtime)
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return rc;
}
