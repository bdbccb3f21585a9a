/*  lk_log — the fixed ladder of log severities (postfix style).

    One line per event on stderr: `2026-11-22T09:00:00.123Z lookout-store warn: text`.
    The program name is set once by the daemon skeleton; the level threshold comes from
    LOOKOUT_LOG_LEVEL (debug|info|warn|error). Thread-safe: each line is one write(2).
    Secrets never reach these functions: callers log identifiers, never tokens or DSNs.
*/
#ifndef LK_LOG_H
#define LK_LOG_H

typedef enum {
    LK_LOG_DEBUG = 0,
    LK_LOG_INFO,
    LK_LOG_WARN,
    LK_LOG_ERROR,
    LK_LOG_FATAL
} lk_log_level_t;

/* Sets the program name shown in every line and the threshold. NULL name keeps the old one. */
void lk_log_init(const char *program, lk_log_level_t threshold);
/* Parses "debug|info|warn|error"; returns LK_LOG_INFO for anything else. */
lk_log_level_t lk_log_level_parse(const char *text);
void lk_log_write(lk_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lk_debug(...) lk_log_write(LK_LOG_DEBUG, __VA_ARGS__)
#define lk_info(...)  lk_log_write(LK_LOG_INFO, __VA_ARGS__)
#define lk_warn(...)  lk_log_write(LK_LOG_WARN, __VA_ARGS__)
#define lk_error(...) lk_log_write(LK_LOG_ERROR, __VA_ARGS__)
/* Logs and exits at once with status 1 (_exit: no atexit handlers): for a lost required
   resource ("crash, don't limp"). */
void lk_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
