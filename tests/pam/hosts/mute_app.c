/* A PAM application whose conversation cannot show messages: it answers every prompt with a
 * fixed text, as a person typing it would, and fails every PAM_TEXT_INFO and PAM_ERROR_MSG
 * with PAM_CONV_ERR, as an application with nowhere to show them may. pamtester's
 * conversation never fails, so the module's handling of a failed message is tested with this.
 *
 *   mute_app SERVICE USER ANSWER [silent]
 *
 * With `silent`, pam_authenticate is called with PAM_SILENT (no message should then reach the
 * conversation at all).
 * Prints "authenticated" (exit 0) or "refused: <PAM's reason>" (exit 1); every prompt it was
 * asked goes to stdout as "prompt: TEXT", every message it failed as "failed: TEXT". */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

static int conversation(int count, const struct pam_message **messages,
                        struct pam_response **responses, void *answer)
{
    struct pam_response *replies = calloc((size_t)count, sizeof *replies);
    if (replies == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        const struct pam_message *message = messages[i];
        if (message->msg_style == PAM_PROMPT_ECHO_OFF || message->msg_style == PAM_PROMPT_ECHO_ON) {
            printf("prompt: %s\n", message->msg);
            replies[i].resp = strdup(answer);
            if (replies[i].resp != NULL)
                continue;
        } else {
            printf("failed: %s\n", message->msg);
        }
        for (int j = 0; j < i; j++)
            free(replies[j].resp);
        free(replies);
        return PAM_CONV_ERR;
    }
    *responses = replies;
    return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
    const int silent = argc == 5 && strcmp(argv[4], "silent") == 0;
    if (argc != 4 && !silent) {
        fprintf(stderr, "usage: mute_app SERVICE USER ANSWER [silent]\n");
        return 2;
    }
    const struct pam_conv conv = {conversation, argv[3]};
    pam_handle_t *pamh = NULL;
    int result = pam_start(argv[1], argv[2], &conv, &pamh);
    if (result == PAM_SUCCESS)
        result = pam_authenticate(pamh, silent ? PAM_SILENT : 0);
    if (result == PAM_SUCCESS)
        printf("authenticated\n");
    else
        printf("refused: %s\n", pam_strerror(pamh, result));
    fflush(stdout);
    pam_end(pamh, result);
    return result == PAM_SUCCESS ? 0 : 1;
}
