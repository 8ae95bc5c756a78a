/* The pod sandbox's process (the "pause" container): holds the pod's namespaces and waits.
 * Exits 0 on SIGTERM or SIGINT (what StopPodSandbox sends), reaps children as a pid 1 must.
 * Built static by engines/cri.sh so the image needs nothing else. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGCHLD, reap);
    for (;;) pause();
}
