/* Prints this process's memory policy as get_mempolicy(2) returns it: "mode=M nodes=MASK",
 * MASK the first word of the node mask in hex. Static, no libnuma. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int mode = -1;
    unsigned long mask[16] = {0};
    if (syscall(SYS_get_mempolicy, &mode, mask, sizeof(mask) * 8, 0, 0) != 0) {
        perror("get_mempolicy");
        return 1;
    }
    printf("mode=%d nodes=%lx\n", mode, mask[0]);
    return 0;
}
