/* Every status code of posix_ipc.h is the library's (pipc_status_name gives its own name
 * back), and the open flags are the system's. Prints "30 codes". */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <posix_ipc.h>
#include <stdio.h>
#include <string.h>

#define CODE(c)                                                                       \
    do {                                                                              \
        if (strcmp(pipc_status_name(c), #c) != 0) {                                   \
            fprintf(stderr, "%s is %d, which the library calls %s\n", #c, (int)(c),   \
                    pipc_status_name(c));                                             \
            bad++;                                                                    \
        }                                                                             \
        n++;                                                                          \
    } while (0)

int main(void) {
    int n = 0, bad = 0;
    CODE(PIPC_OK); CODE(PIPC_NOT_FOUND); CODE(PIPC_ALREADY_EXISTS); CODE(PIPC_CLOSED);
    CODE(PIPC_PERMISSION_DENIED); CODE(PIPC_WOULD_BLOCK); CODE(PIPC_TIMED_OUT);
    CODE(PIPC_NOTIFICATION_BUSY); CODE(PIPC_INTERRUPTED); CODE(PIPC_CANCELLED);
    CODE(PIPC_INVALID_NAME); CODE(PIPC_INVALID_ARGUMENT); CODE(PIPC_LIMIT_EXCEEDED);
    CODE(PIPC_MESSAGE_TOO_LARGE); CODE(PIPC_OVERFLOW); CODE(PIPC_NO_SPACE);
    CODE(PIPC_OUT_OF_MEMORY); CODE(PIPC_MISMATCH); CODE(PIPC_WRONG_LENGTH);
    CODE(PIPC_NOT_INITIALIZED); CODE(PIPC_DISCONNECTED); CODE(PIPC_LAGGED);
    CODE(PIPC_RESTARTED); CODE(PIPC_UNSUPPORTED); CODE(PIPC_DEADLOCK);
    CODE(PIPC_NOT_RECOVERABLE); CODE(PIPC_UNTRUSTED); CODE(PIPC_OTHER);
    CODE(PIPC_BAD_HANDLE); CODE(PIPC_INTERNAL);
    if (strcmp(pipc_status_name(30), "PIPC_UNKNOWN") != 0) bad++;
    if (PIPC_O_CREAT != O_CREAT || PIPC_O_EXCL != O_EXCL || PIPC_O_TRUNC != O_TRUNC) {
        fprintf(stderr, "the open flags are not the system's\n");
        bad++;
    }
    printf("%d codes, version %s\n", n, pipc_version());
    return bad != 0;
}
