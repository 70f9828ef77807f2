/* Preloaded into pamtester by the tests, to make it the kind of host the module must cope
 * with (a handler does not survive exec, so a wrapper could not set one):
 *   OTP_TEST_SIGCHLD=ignore   SIGCHLD set to SIG_IGN (the kernel then reaps children itself)
 *   OTP_TEST_SIGUSR1=handle   a SIGUSR1 handler that does nothing, so each SIGUSR1 the test
 *                             sends interrupts the module's poll with EINTR */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void nothing(int sig)
{
    (void)sig;
}

__attribute__((constructor)) static void set_up_host(void)
{
    const char *chld = getenv("OTP_TEST_SIGCHLD");
    const char *usr1 = getenv("OTP_TEST_SIGUSR1");
    if (chld != NULL && strcmp(chld, "ignore") == 0)
        signal(SIGCHLD, SIG_IGN);
    if (usr1 != NULL && strcmp(usr1, "handle") == 0) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = nothing;
        sigemptyset(&action.sa_mask);
        sigaction(SIGUSR1, &action, NULL);
    }
}
