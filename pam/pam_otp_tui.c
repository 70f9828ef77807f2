/*
 * pam_otp_tui: a PAM authentication module that relays a conversation between the PAM
 * application (sshd, sudo, su, login) and an otp-tui helper running as an unprivileged
 * service user. It decides nothing itself: the helper asks the questions and gives the
 * verdict; the module only carries bounded, cleaned lines both ways and says yes only on the
 * helper's explicit "verified" (or "allowed"), followed by a clean exit, within a deadline.
 *
 * Why a relay in C and the logic elsewhere: PAM modules run inside root processes (sshd's
 * monitor, sudo), so the code that runs there is kept small enough to read in one sitting,
 * and root never runs Python. The protocol is in PROTOCOL.md next to this file.
 *
 * The helper is started one of two ways, and only the start differs: exec'd for each login
 * (helper=), or a server the service user runs, which forks one for each connection (socket=).
 *
 *   auth required /usr/local/lib/security/pam_otp_tui.so user=otp-tui
 *        helper=/usr/local/libexec/otp-tui-pam config=/etc/otp-tui/config.toml timeout=300
 *   auth required /usr/local/lib/security/pam_otp_tui.so user=otp-tui
 *        socket=/run/otp-tui/pam.sock timeout=300
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define LINE_MAX_BYTES 1024   /* one protocol line, its LF included */
#define ANSWER_MAX_BYTES 256  /* what the person typed, relayed to the helper */
#define FACT_MAX_BYTES 256    /* user, service, rhost, tty */
#define PROMPT_MAX_BYTES 4096 /* a prompt with the messages it carries, its NUL included */
#define MAX_LINES 100         /* a helper saying more than this is flooding */
#define MAX_TIMEOUT 3600      /* seconds; a deadline beyond an hour is a typo */
#define EXIT_GRACE_MS 1000    /* how long a helper may take to exit after its verdict */
#define REAP_GRACE_MS 1000    /* how long a killed helper may take to be reaped */

struct options {
    const char *user;   /* the service user the helper runs as */
    const char *helper; /* absolute path of the helper program, or NULL */
    const char *socket; /* absolute path of the server's socket, or NULL */
    const char *config; /* absolute path passed as --config, or NULL */
    long timeout;       /* seconds for the whole conversation */
};

/* A connection to one helper: its pid (also its process group; 0 for the helper service's
 * child, which the service ends), our end of the socket, the deadline, and the bytes read but
 * not yet split into lines. */
struct helper {
    pid_t pid;
    int fd;
    struct timespec deadline;
    char buf[LINE_MAX_BYTES];
    size_t used;
    int lines;
};

/* ---- cleaning text: what crosses to a terminal or to the helper ------------------------ */

/* Well-formed characters that are dropped all the same: the C1 controls (U+009B is a
 * one-byte CSI to some terminals) and the format characters a terminal shows as nothing or
 * that change the direction of the text around them, so that it could read as something
 * other than what it is (every bidi control of Unicode's UAX #9, the Arabic letter mark
 * among them, and the invisible ones: joiners, soft hyphen, invisible operators, tags). */
static const struct {
    unsigned long first, last;
} hidden[] = {
    {0x0080, 0x009f},   /* C1 controls */
    {0x00ad, 0x00ad},   /* soft hyphen */
    {0x061c, 0x061c},   /* Arabic letter mark */
    {0x180e, 0x180e},   /* Mongolian vowel separator */
    {0x200b, 0x200f},   /* zero-width space and joiners, LRM, RLM */
    {0x2028, 0x202e},   /* line and paragraph separators, embeddings, overrides */
    {0x2060, 0x206f},   /* word joiner, invisible operators, isolates, deprecated controls */
    {0xfeff, 0xfeff},   /* zero-width no-break space */
    {0xfff9, 0xfffb},   /* interlinear annotation */
    {0xe0000, 0xe007f}, /* tags: invisible copies of ASCII */
};

static int is_hidden(unsigned long cp)
{
    for (size_t k = 0; k < sizeof hidden / sizeof hidden[0]; k++)
        if (cp >= hidden[k].first && cp <= hidden[k].last)
            return 1;
    return 0;
}

/* Copies src into dst (at most max-1 bytes, always terminated), keeping printable ASCII and
 * well-formed UTF-8 sequences except the `hidden` ones above. Everything else is dropped: C0
 * controls (ESC, BEL, CR, LF, ...), DEL, stray or overlong bytes, surrogates. A terminal then
 * has nothing it could read as a command. */
static void clean_text(char *dst, size_t max, const char *src, size_t len)
{
    size_t out = 0, i = 0;
    while (i < len) {
        const unsigned char c = (unsigned char)src[i];
        size_t n = 0;
        if (c >= 0x20 && c < 0x7f)
            n = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4;
        int ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
            ok = ((unsigned char)src[i + k] & 0xc0) == 0x80;
        if (ok && n > 1) {
            const unsigned char d = (unsigned char)src[i + 1];
            if ((c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) || (c == 0xf0 && d < 0x90) ||
                (c == 0xf4 && d > 0x8f))
                ok = 0; /* overlong form, surrogate or beyond U+10FFFF */
        }
        if (ok && n > 1) {
            /* The lead byte's payload (5, 4 or 3 bits), then 6 bits from each that follows. */
            unsigned long cp = c & (0x7fU >> n);
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | ((unsigned char)src[i + k] & 0x3fU);
            ok = !is_hidden(cp);
        }
        if (!ok) {
            i++;
            continue;
        }
        if (out + n >= max)
            break; /* never split a character */
        memcpy(dst + out, src + i, n);
        out += n;
        i += n;
    }
    dst[out] = '\0';
}

/* ---- arguments --------------------------------------------------------------------------- */

/* Every argument must be known and well formed: a typo in /etc/pam.d must not quietly turn a
 * setting off. Returns 0, or -1 after logging one line. */
static int parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *opt)
{
    const char *timeout = NULL;
    opt->user = opt->helper = opt->socket = opt->config = NULL;
    opt->timeout = 300;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;
        if (strncmp(arg, "user=", 5) == 0 && arg[5] != '\0')
            slot = &opt->user;
        else if (strncmp(arg, "helper=", 7) == 0 && arg[7] == '/')
            slot = &opt->helper;
        else if (strncmp(arg, "socket=", 7) == 0 && arg[7] == '/')
            slot = &opt->socket;
        else if (strncmp(arg, "config=", 7) == 0 && arg[7] == '/')
            slot = &opt->config;
        else if (strncmp(arg, "timeout=", 8) == 0)
            slot = &timeout;
        if (slot != NULL && *slot != NULL) {
            /* Two values for one setting: which one the operator meant is a guess. */
            pam_syslog(pamh, LOG_ERR, "refused: an argument is given twice");
            return -1;
        }
        if (slot != NULL) {
            *slot = strchr(arg, '=') + 1;
        } else {
            /* The argument itself is the operator's text; cleaned, it is safe to name. */
            char shown[64];
            clean_text(shown, sizeof shown, arg, strlen(arg));
            pam_syslog(pamh, LOG_ERR, "refused: unknown or malformed argument \"%s\"", shown);
            return -1;
        }
    }
    if (timeout != NULL) {
        /* Digits only: strtol alone would also take "+5", " 5" or "-0". */
        const size_t digits = strspn(timeout, "0123456789");
        const long value = digits > 0 && digits <= 4 && timeout[digits] == '\0'
                               ? strtol(timeout, NULL, 10)
                               : 0;
        if (value < 1 || value > MAX_TIMEOUT) {
            pam_syslog(pamh, LOG_ERR, "refused: timeout= must be 1 to %d seconds", MAX_TIMEOUT);
            return -1;
        }
        opt->timeout = value;
    }
    /* One way to start the helper; config= is the exec'd helper's (a server has its own). */
    if (opt->user == NULL || (opt->helper == NULL) == (opt->socket == NULL)) {
        pam_syslog(pamh, LOG_ERR, "refused: user= and one of helper=/ABSOLUTE/PATH or "
                                  "socket=/ABSOLUTE/PATH are required");
        return -1;
    }
    if (opt->socket != NULL && opt->config != NULL) {
        pam_syslog(pamh, LOG_ERR, "refused: config= goes with helper=; the server has its own");
        return -1;
    }
    return 0;
}

/* ---- the helper's process ---------------------------------------------------------------- */

/* A locale variable for the helper's words: short, and only the characters locale names use,
 * so nothing else can ride in through it. */
static int locale_value_ok(const char *value)
{
    const size_t len = strlen(value);
    if (len == 0 || len > 64)
        return 0;
    return strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-@:") ==
           len;
}

/* The service user's groups (at most 256, into groups[], their number into *n): the exec'd
 * helper gets them, and a service manager gives them to the helper service. Group 0 owns
 * files root meant for root alone; no helper may read or write them. Returns 0, or -1 after
 * logging one line. */
static int service_groups(pam_handle_t *pamh, const struct passwd *pw, gid_t groups[256], int *n)
{
    *n = 256;
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, n) < 0) {
        pam_syslog(pamh, LOG_ERR, "refused: the service user is in too many groups");
        return -1;
    }
    for (int i = 0; i < *n; i++) {
        if (groups[i] == 0) {
            pam_syslog(pamh, LOG_ERR, "refused: the service user is in group 0");
            return -1;
        }
    }
    return 0;
}

/* What the helper starts with, prepared before fork (so the child only makes system calls):
 * its resolved path and arguments, a fixed PATH, the locale variables if they look like
 * locale names, and the service user's groups. Writable copies, as execve wants them. */
struct launch {
    char path[PATH_MAX];
    char config[PATH_MAX];
    char *argv[4];
    char path_var[20];
    char locale_vars[4][80];
    char *envp[6];
    gid_t groups[256];
    int ngroups;
};

static int prepare_launch(pam_handle_t *pamh, const struct options *opt, const struct passwd *pw,
                          struct launch *l)
{
    static const char *const names[] = {"LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"};
    static char config_flag[] = "--config";
    int argn = 0, envc = 0;
    l->argv[argn++] = l->path;
    if (opt->config != NULL) {
        if (strlen(opt->config) >= sizeof l->config) {
            pam_syslog(pamh, LOG_ERR, "refused: config= is too long");
            return -1;
        }
        strcpy(l->config, opt->config);
        l->argv[argn++] = config_flag;
        l->argv[argn++] = l->config;
    }
    l->argv[argn] = NULL;
    strcpy(l->path_var, "PATH=/usr/bin:/bin");
    l->envp[envc++] = l->path_var;
    for (size_t i = 0; i < 4; i++) {
        /* Only the PAM environment, what the application chose to pass: the process's own is
         * the invoking user's under sudo or su. Only words depend on it. */
        const char *value = pam_getenv(pamh, names[i]);
        if (value != NULL && locale_value_ok(value)) {
            snprintf(l->locale_vars[i], sizeof l->locale_vars[i], "%s=%s", names[i], value);
            l->envp[envc++] = l->locale_vars[i];
        }
    }
    l->envp[envc] = NULL;
    return service_groups(pamh, pw, l->groups, &l->ngroups);
}

/* Limits the helper gets whatever the invoking user set (under sudo or su the process
 * inherits theirs): no core file (it could hold the code), room for its files (a small
 * RLIMIT_FSIZE could cut its audit trail short), a usual number of descriptors (the hard
 * limit is only raised, never lowered: some hosts, valgrind among them, refuse that). */
static const struct {
    int resource;
    rlim_t value;
} helper_limits[] = {
    {RLIMIT_CORE, 0},
    {RLIMIT_FSIZE, RLIM_INFINITY},
    {RLIMIT_NOFILE, 1024},
};

static int set_limits(void)
{
    for (size_t i = 0; i < sizeof helper_limits / sizeof helper_limits[0]; i++) {
        struct rlimit limit = {helper_limits[i].value, helper_limits[i].value};
        struct rlimit now;
        if (helper_limits[i].resource == RLIMIT_NOFILE &&
            getrlimit(RLIMIT_NOFILE, &now) == 0 && now.rlim_max > limit.rlim_max)
            limit.rlim_max = now.rlim_max;
        if (setrlimit(helper_limits[i].resource, &limit) != 0)
            return -1;
    }
    return 0;
}

/* In the child, between fork and exec: become the service user with nothing inherited but
 * the socket as stdin and stdout. Any failure ends the child, and the parent then sees end of
 * file without a verdict: a refusal. */
static void exec_helper(const struct passwd *pw, const struct launch *l, int fd)
{
    const pid_t parent = getppid();
    /* Signals: sshd and sudo block or ignore some; the helper starts from the defaults. The
     * parent blocked every signal around fork, so no host handler runs here before they are
     * reset; only then is the mask cleared. */
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Its own session, so the module can kill the helper and what stays in its group, and so
     * it has no controlling terminal to write to behind the relay's back. */
    if (setsid() < 0)
        _exit(127);

    /* Both moved to 3 or above first: an application that runs with 0, 1 or 2 closed could
     * have given us the socket or /dev/null there, and a dup2 would then close one. */
    fd = fcntl(fd, F_DUPFD, 3);
    const int null = fcntl(open("/dev/null", O_RDWR), F_DUPFD, 3);
    if (fd < 0 || null < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(null, 2) < 0)
        _exit(127);
    /* Every other descriptor sshd or sudo had open (sockets, the pty, log files) closes;
     * without close_range (before Linux 5.9), one by one up to the hard limit, since the
     * soft one may have been lowered after they were opened. */
    int closed = -1;
#ifdef SYS_close_range
    closed = (int)syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
    if (closed != 0) {
        struct rlimit open_max = {0, 0};
        getrlimit(RLIMIT_NOFILE, &open_max);
        const rlim_t top = open_max.rlim_max < 65536 ? open_max.rlim_max : 65536;
        for (rlim_t d = 3; d < top; d++)
            close((int)d);
    }

    /* While still root: a fixed umask, limits and priority rather than the invoking user's. */
    umask(077);
    if (set_limits() != 0 || setpriority(PRIO_PROCESS, 0, 0) != 0)
        _exit(127);

    /* Groups, then gid, then uid (the order in which each is still allowed), then prove that
     * root cannot be had back. */
    if (setgroups((size_t)l->ngroups, l->groups) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        _exit(127);
    if (setuid(0) == 0 || seteuid(0) == 0)
        _exit(127);
    if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid ||
        getegid() != pw->pw_gid)
        _exit(127);
    /* If the application dies mid-conversation, the helper goes with it (set after setuid,
     * which clears it; the parent check covers a death just before). No new privileges: a
     * set-user-ID program the helper runs gains nothing. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || chdir("/") != 0)
        _exit(127);
    execve(l->path, l->argv, l->envp);
    _exit(127);
}

/* A folder above the helper is safe when only root can change what it holds: root's and
 * writable by no one else, or, like /tmp, sticky (there only an entry's owner, root here, can
 * rename or remove it). */
static int folder_safe(const struct stat *st)
{
    return S_ISDIR(st->st_mode) && st->st_uid == 0 &&
           ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st->st_mode & S_ISVTX) != 0);
}

/* The helper must be root's and writable by root alone, and so must every folder on its
 * path: the module runs it for every login, so whoever could change it, or swap it by
 * renaming a folder above it, could decide every login. The path is resolved once (no
 * symbolic link left) and that resolved path is the one run. */
static int helper_trusted(pam_handle_t *pamh, const char *path, char resolved[PATH_MAX])
{
    struct stat st;
    if (realpath(path, resolved) == NULL || lstat(resolved, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || (st.st_mode & S_IXUSR) == 0) {
        pam_syslog(pamh, LOG_ERR, "refused: the helper is missing, not root's, or writable "
                                  "by others");
        return 0;
    }
    char folder[PATH_MAX];
    strcpy(folder, resolved);
    for (;;) {
        char *slash = strrchr(folder, '/');
        const int top = slash == folder;
        slash[top ? 1 : 0] = '\0'; /* "/usr/libexec/x" -> "/usr/libexec" -> "/usr" -> "/" */
        if (lstat(folder, &st) != 0 || !folder_safe(&st)) {
            pam_syslog(pamh, LOG_ERR, "refused: a folder above the helper is not root's, or "
                                      "writable by others");
            return 0;
        }
        if (top)
            return 1;
    }
}

/* ---- or connecting to a server that runs as the service user ----------------------------- */

/* A folder on the socket's path is safe when only root or the service user can change what
 * it holds: theirs and writable by no one else, or root's and sticky (like /tmp) above the
 * socket's own folder. Whoever else could rename one could put another folder in its place,
 * and steer the module to another of the service user's listeners (a second service with
 * laxer settings, say): SO_PEERCRED cannot tell those apart. */
static int socket_folder_safe(const struct stat *st, uid_t service, int own)
{
    return S_ISDIR(st->st_mode) && (st->st_uid == 0 || st->st_uid == service) &&
           ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
            (!own && st->st_uid == 0 && (st->st_mode & S_ISVTX) != 0));
}

/* Connects to the server at `path`. Its folder is resolved once (no symbolic link left), and
 * it and every folder above it must be safe as above; the resolved path is the one connected
 * to. Between the checks and connect only root or the service user could change them, and
 * both are trusted with every login anyway. The process that listens must be the service
 * user's, uid and gid (SO_PEERCRED, the kernel's word, not the file's owner, which anyone who
 * could bind there could arrange). A server that is down, busy or another user's is a refusal
 * at once: the socket is non-blocking, so connect never waits (a Unix socket connects at once
 * or fails with EAGAIN, never EINPROGRESS). Returns the connected socket, or -1 after logging
 * one line. */
static int connect_server(pam_handle_t *pamh, const char *path, const struct passwd *pw)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char given[PATH_MAX], folder[PATH_MAX];
    if (strlen(path) >= sizeof given) {
        pam_syslog(pamh, LOG_ERR, "refused: socket= is too long");
        return -1;
    }
    strcpy(given, path);
    char *name = strrchr(given, '/'); /* path starts with '/': never NULL */
    *name++ = '\0';
    struct stat st;
    if (realpath(given[0] != '\0' ? given : "/", folder) == NULL ||
        lstat(folder, &st) != 0 || !socket_folder_safe(&st, pw->pw_uid, 1)) {
        pam_syslog(pamh, LOG_ERR, "refused: the socket's folder is missing, not root's or the "
                                  "service user's, or writable by others");
        return -1;
    }
    const int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/%s",
                           strcmp(folder, "/") == 0 ? "" : folder, name);
    if (n < 0 || (size_t)n >= sizeof addr.sun_path) {
        pam_syslog(pamh, LOG_ERR, "refused: socket= is too long");
        return -1;
    }
    while (strcmp(folder, "/") != 0) {
        char *slash = strrchr(folder, '/');
        slash[slash == folder ? 1 : 0] = '\0'; /* "/run/otp-tui" -> "/run" -> "/" */
        if (lstat(folder, &st) != 0 || !socket_folder_safe(&st, pw->pw_uid, 0)) {
            pam_syslog(pamh, LOG_ERR, "refused: a folder above the socket is not root's or the "
                                      "service user's, or writable by others");
            return -1;
        }
    }
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        pam_syslog(pamh, LOG_ERR, "refused: socket failed: %m");
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
        pam_syslog(pamh, LOG_ERR, "refused: the server cannot be reached: %m");
        close(fd);
        return -1;
    }
    struct ucred peer;
    socklen_t len = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || len != sizeof peer ||
        peer.uid != pw->pw_uid || peer.gid != pw->pw_gid) {
        pam_syslog(pamh, LOG_ERR, "refused: the server is not the service user's");
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- talking to the helper, against a deadline ------------------------------------------- */

static long ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const long ms = (deadline->tv_sec - now.tv_sec) * 1000L +
                    (deadline->tv_nsec - now.tv_nsec) / 1000000L;
    return ms > 0 ? ms : 0;
}

/* After its verdict the helper has only to close the socket: a short grace, not the rest of
 * the deadline (a child it left holding the socket open must not keep sshd waiting). */
static void shorten_deadline(struct helper *h)
{
    if (ms_left(&h->deadline) > EXIT_GRACE_MS) {
        clock_gettime(CLOCK_MONOTONIC, &h->deadline);
        h->deadline.tv_sec += EXIT_GRACE_MS / 1000;
    }
}

/* Waits until the helper's socket is ready for `events`; 0 when ready, -1 on timeout or
 * error. The time left is counted again after each signal, so signals arriving faster than
 * the deadline cannot put it off. */
static int wait_ready(const struct helper *h, short events)
{
    struct pollfd p = {.fd = h->fd, .events = events};
    for (;;) {
        const long ms = ms_left(&h->deadline);
        const int r = poll(&p, 1, (int)(ms > INT_MAX ? INT_MAX : ms));
        if (r > 0)
            return 0;
        if (r == 0 || errno != EINTR)
            return -1;
    }
}

/* Sends all of text; MSG_NOSIGNAL because a helper that went away must not SIGPIPE sshd. */
static int send_all(struct helper *h, const char *text, size_t len)
{
    while (len > 0) {
        if (wait_ready(h, POLLOUT) != 0)
            return -1;
        const ssize_t n = send(h->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_line(struct helper *h, const char *word, const char *text)
{
    char line[LINE_MAX_BYTES];
    const int n = snprintf(line, sizeof line, "%s%s%s\n", word, text ? " " : "", text ? text : "");
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    const int r = send_all(h, line, (size_t)n);
    explicit_bzero(line, sizeof line); /* it may hold the code */
    return r;
}

/* Reads one line (its LF removed) into line[LINE_MAX_BYTES]. Returns 1 for a line, 0 for a
 * clean end of file, or -1 (with *why set) for a timeout, an over-long line, a NUL byte, a
 * flood, or an error. */
static int read_line(struct helper *h, char *line, const char **why)
{
    for (;;) {
        char *lf = memchr(h->buf, '\n', h->used);
        if (lf != NULL) {
            const size_t len = (size_t)(lf - h->buf);
            /* C strings end at a NUL: "verified\0 anything" would read as "verified". */
            if (memchr(h->buf, '\0', len) != NULL) {
                *why = "a NUL byte in a line";
                return -1;
            }
            memcpy(line, h->buf, len);
            line[len] = '\0';
            h->used -= len + 1;
            memmove(h->buf, lf + 1, h->used);
            if (++h->lines > MAX_LINES) {
                *why = "too many lines";
                return -1;
            }
            return 1;
        }
        if (h->used == sizeof h->buf) {
            *why = "a line too long";
            return -1;
        }
        if (wait_ready(h, POLLIN) != 0) {
            *why = "no answer before the deadline";
            return -1;
        }
        const ssize_t n = recv(h->fd, h->buf + h->used, sizeof h->buf - h->used, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            *why = "a read error";
            return -1;
        }
        if (n == 0) {
            if (h->used == 0)
                return 0;
            *why = "an unfinished line";
            return -1;
        }
        h->used += (size_t)n;
    }
}

/* A fact that names someone (the user, the service) goes to the helper exactly as PAM has
 * it, or not at all: cleaning "ro\001ot" would hand on "root", and cutting a long name
 * another name (sshd gives PAM the name the client typed, valid or not). */
static int passable(const char *value)
{
    char clean[FACT_MAX_BYTES];
    if (strlen(value) >= sizeof clean)
        return 0;
    clean_text(clean, sizeof clean, value, strlen(value));
    return strcmp(clean, value) == 0;
}

/* The facts only PAM knows, as the protocol's opening block; user and service were checked
 * to be passable, the others are cleaned. */
static int send_facts(pam_handle_t *pamh, struct helper *h, const char *user, const char *service)
{
    static const struct {
        const char *word;
        int item;
    } facts[] = {{"rhost", PAM_RHOST}, {"tty", PAM_TTY}};
    char clean[FACT_MAX_BYTES];
    if (send_line(h, "otp-tui-pam", "1") != 0 || send_line(h, "user", user) != 0 ||
        send_line(h, "service", service) != 0)
        return -1;
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        const void *item = NULL;
        if (pam_get_item(pamh, facts[i].item, &item) != PAM_SUCCESS || item == NULL)
            item = "";
        clean_text(clean, sizeof clean, item, strlen(item));
        if (send_line(h, facts[i].word, clean) != 0)
            return -1;
    }
    return send_line(h, "end", NULL);
}

/* Asks the person through the application's conversation and relays the answer. A failed
 * conversation (the client went away) is a refusal, and so is an answer that comes back
 * after the deadline: the helper never gets it. */
static int relay_prompt(pam_handle_t *pamh, struct helper *h, int style, const char *text,
                        const char **why)
{
    char *response = NULL;
    const int asked = pam_prompt(pamh, style, &response, "%s", text);
    if (asked != PAM_SUCCESS || response == NULL || ms_left(&h->deadline) == 0) {
        *why = asked != PAM_SUCCESS || response == NULL ? "the conversation failed"
                                                        : "the deadline passed";
        if (response != NULL) { /* an application may hand one back even with an error */
            explicit_bzero(response, strlen(response));
            free(response);
        }
        return -1;
    }
    char answer[ANSWER_MAX_BYTES + 1];
    clean_text(answer, sizeof answer, response, strnlen(response, LINE_MAX_BYTES));
    explicit_bzero(response, strlen(response));
    free(response);
    const int r = send_line(h, "answer", answer);
    explicit_bzero(answer, sizeof answer);
    if (r != 0)
        *why = "the helper did not take the answer";
    return r;
}

/* Under PAM_SILENT: appends text, then `end`, to the messages carried to the next prompt
 * (`carried`, PROMPT_MAX_BYTES long, *used bytes so far). 0, or -1 when they would not fit:
 * a refusal, as an over-long line is. */
static int carry(char *carried, size_t *used, const char *text, const char *end)
{
    const size_t room = PROMPT_MAX_BYTES - *used;
    const int n = snprintf(carried + *used, room, "%s%s", text, end);
    if (n < 0 || (size_t)n >= room)
        return -1;
    *used += (size_t)n;
    return 0;
}

/* The conversation: relays lines until a verdict. Returns PAM_SUCCESS only for "verified" or
 * "allowed" followed by end of file; *why names the reason for anything else. With `silent`
 * (the application passed PAM_SILENT) messages are not sent on their own but carried in the
 * next prompt's text. */
static int converse(pam_handle_t *pamh, struct helper *h, const char *user, const char *service,
                    int silent, const char **why)
{
    char line[LINE_MAX_BYTES];
    char text[LINE_MAX_BYTES];
    char carried[PROMPT_MAX_BYTES]; /* under PAM_SILENT: the messages since the last prompt */
    size_t used = 0;
    int verdict = -1;
    *why = NULL;
    if (send_facts(pamh, h, user, service) != 0) {
        *why = "the helper did not take the facts";
        return PAM_AUTH_ERR;
    }
    for (;;) {
        const int r = read_line(h, line, why);
        if (r < 0)
            return PAM_AUTH_ERR;
        if (r == 0) {
            if (verdict < 0)
                *why = "the helper ended without a verdict";
            return verdict < 0 ? PAM_AUTH_ERR : verdict;
        }
        if (verdict >= 0) {
            *why = "the helper spoke after its verdict";
            return PAM_AUTH_ERR;
        }
        const char *space = strchr(line, ' ');
        const size_t word = space ? (size_t)(space - line) : strlen(line);
        clean_text(text, sizeof text, space ? space + 1 : "", space ? strlen(space + 1) : 0);
#define IS(w) (word == sizeof(w) - 1 && memcmp(line, w, word) == 0)
        if ((IS("info") || IS("error")) && space) {
            /* PAM_SILENT asks for no message of the module's own (sudo passes it on every
             * call), yet what the person must read before answering (where the code went,
             * the attempts left, why they are locked) has to reach them: it goes with the
             * next prompt, one line each, as sshd shows messages with its next prompt. Lines
             * after the last prompt are dropped (the helper ends with a prompt when it has
             * something to say). A message the application failed to deliver is a failed
             * conversation, as a failed prompt is: the person may not have read it. */
            const int style = IS("info") ? PAM_TEXT_INFO : PAM_ERROR_MSG;
            if (silent) {
                if (carry(carried, &used, text, "\n") != 0) {
                    *why = "too much text before a prompt";
                    return PAM_AUTH_ERR;
                }
            } else if (pam_prompt(pamh, style, NULL, "%s", text) != PAM_SUCCESS) {
                *why = "the conversation failed";
                return PAM_AUTH_ERR;
            }
        } else if ((IS("prompt") || IS("prompt-echo")) && space) {
            const int style = IS("prompt") ? PAM_PROMPT_ECHO_OFF : PAM_PROMPT_ECHO_ON;
            if (used > 0 && carry(carried, &used, text, "") != 0) {
                *why = "too much text before a prompt";
                return PAM_AUTH_ERR;
            }
            const int asked = relay_prompt(pamh, h, style, used > 0 ? carried : text, why);
            used = 0;
            if (asked != 0)
                return PAM_AUTH_ERR;
        } else if ((IS("verified") || IS("allowed")) && !space) {
            verdict = PAM_SUCCESS; /* provided the helper then ends cleanly */
            shorten_deadline(h);
        } else if (IS("denied") && !space) {
            verdict = PAM_AUTH_ERR;
            shorten_deadline(h);
        } else {
            *why = "the helper said something unknown";
            return PAM_AUTH_ERR;
        }
#undef IS
        if (ms_left(&h->deadline) == 0) {
            *why = "the deadline passed";
            return PAM_AUTH_ERR;
        }
    }
}

/* Sleeps 10 ms (a poll step while waiting for the helper to end). */
static void tick(void)
{
    const struct timespec step = {0, 10 * 1000000L};
    nanosleep(&step, NULL);
}

/* Ends the helper whatever it is doing: a short grace to exit on its own, then SIGKILL to its
 * process group (what the helper started and left in that group goes too; what moved to a
 * session of its own does not), and a bounded wait to reap it. Returns its exit status, or
 * -1 if it did not exit by itself with a status; *why is set if it could not be reaped. */
static int finish_helper(struct helper *h, const char **why)
{
    siginfo_t info;
    int exited = 0;
    close(h->fd);
    for (long waited = 0; waited <= EXIT_GRACE_MS; waited += 10) {
        /* WNOWAIT: look without reaping, so the process group id stays ours until killpg. */
        memset(&info, 0, sizeof info);
        const int r = waitid(P_PID, (id_t)h->pid, &info, WEXITED | WNOHANG | WNOWAIT);
        if (r == 0 && info.si_pid == h->pid) {
            exited = 1;
            break;
        }
        if (r < 0 && errno != EINTR)
            break; /* e.g. someone else reaped it: we cannot know how it ended */
        tick();
    }
    kill(-h->pid, SIGKILL);
    /* SIGKILL ends it at once unless the kernel holds it (a hung file system): then give up
     * rather than hang the application. */
    int status = 0;
    pid_t reaped = 0;
    for (long waited = 0; reaped == 0 && waited <= REAP_GRACE_MS; waited += 10) {
        reaped = waitpid(h->pid, &status, WNOHANG);
        if (reaped < 0 && errno == EINTR)
            reaped = 0;
        if (reaped == 0)
            tick();
    }
    if (reaped == 0)
        *why = "the helper could not be reaped after SIGKILL";
    if (reaped != h->pid || !exited || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct options opt;
    if (parse_options(pamh, argc, argv, &opt) != 0)
        return PAM_AUTH_ERR;
    const char *user = NULL;
    if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || user[0] == '\0') {
        pam_syslog(pamh, LOG_ERR, "refused: no user name");
        return PAM_AUTH_ERR;
    }
    if (!passable(user)) {
        pam_syslog(pamh, LOG_ERR, "refused: the user name cannot be passed on as it is");
        return PAM_AUTH_ERR;
    }
    const void *service = NULL;
    if (pam_get_item(pamh, PAM_SERVICE, &service) != PAM_SUCCESS || service == NULL ||
        !passable(service)) {
        pam_syslog(pamh, LOG_ERR, "refused: the service name cannot be passed on as it is");
        return PAM_AUTH_ERR;
    }
    /* The service user, looked up before forking (getpwnam is not safe after fork). */
    struct passwd pwbuf, *pw = NULL;
    char pwstore[4096];
    const int looked_up = getpwnam_r(opt.user, &pwbuf, pwstore, sizeof pwstore, &pw);
    if (looked_up != 0) {
        errno = looked_up;
        pam_syslog(pamh, LOG_ERR, "refused: the service user cannot be looked up: %m");
        return PAM_AUTH_ERR;
    }
    if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
        pam_syslog(pamh, LOG_ERR, "refused: the service user is unknown, root, or in group 0");
        return PAM_AUTH_ERR;
    }
    if (opt.socket != NULL) {
        /* The same conversation as with an exec'd helper; the server's child ends it by
         * closing the connection after its verdict, and the server reaps and bounds it. */
        struct helper s = {.pid = 0};
        gid_t groups[256];
        int ngroups = 0;
        if (service_groups(pamh, pw, groups, &ngroups) != 0)
            return PAM_AUTH_ERR;
        clock_gettime(CLOCK_MONOTONIC, &s.deadline);
        s.deadline.tv_sec += opt.timeout;
        s.fd = connect_server(pamh, opt.socket, pw);
        if (s.fd < 0)
            return PAM_AUTH_ERR;
        const char *why = NULL;
        const int result = converse(pamh, &s, user, service, (flags & PAM_SILENT) != 0, &why);
        close(s.fd);
        explicit_bzero(s.buf, sizeof s.buf);
        if (why != NULL)
            pam_syslog(pamh, LOG_ERR, "refused: %s", why);
        return result;
    }
    struct launch launch;
    if (!helper_trusted(pamh, opt.helper, launch.path) ||
        prepare_launch(pamh, &opt, pw, &launch) != 0)
        return PAM_AUTH_ERR;

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        pam_syslog(pamh, LOG_ERR, "refused: socketpair failed: %m");
        return PAM_AUTH_ERR;
    }
    struct helper h = {.fd = pair[0]};
    clock_gettime(CLOCK_MONOTONIC, &h.deadline);
    h.deadline.tv_sec += opt.timeout;
    /* SIGCHLD at its default while the helper lives: ignored, the kernel would reap it before
     * the module could read its status; a host handler could reap it and let its pid (and
     * process group) be reused before the kill. Every signal is blocked across fork so that
     * no host handler runs in the child before it resets them. */
    struct sigaction default_chld = {.sa_handler = SIG_DFL}, host_chld;
    sigset_t all, host_mask;
    sigemptyset(&default_chld.sa_mask);
    sigfillset(&all);
    sigaction(SIGCHLD, &default_chld, &host_chld);
    sigprocmask(SIG_SETMASK, &all, &host_mask);
    h.pid = fork();
    if (h.pid == 0) {
        close(pair[0]);
        exec_helper(pw, &launch, pair[1]); /* never returns */
    }
    sigprocmask(SIG_SETMASK, &host_mask, NULL);
    close(pair[1]);
    if (h.pid < 0) {
        close(pair[0]);
        sigaction(SIGCHLD, &host_chld, NULL);
        pam_syslog(pamh, LOG_ERR, "refused: fork failed: %m");
        return PAM_AUTH_ERR;
    }

    const char *why = NULL, *unreaped = NULL;
    int result = converse(pamh, &h, user, service, (flags & PAM_SILENT) != 0, &why);
    const int status = finish_helper(&h, &unreaped);
    sigaction(SIGCHLD, &host_chld, NULL);
    if (result == PAM_SUCCESS && status != 0) {
        result = PAM_AUTH_ERR;
        why = unreaped != NULL ? unreaped : "the helper did not exit with status 0";
    }
    explicit_bzero(h.buf, sizeof h.buf);
    if (why != NULL)
        pam_syslog(pamh, LOG_ERR, "refused: %s", why);
    if (unreaped != NULL && unreaped != why)
        pam_syslog(pamh, LOG_ERR, "%s", unreaped);
    return result;
}

/* Nothing to set: the module only authenticates. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
