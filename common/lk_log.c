/*  lk_log — one line per event on stderr, with time, program and severity.

    Each line is formatted into a local buffer and written with a single write(2), so lines
    from different threads never interleave.
*/
#include "lk_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lk_time.h"

static char s_program[64] = "lookout";
static lk_log_level_t s_threshold = LK_LOG_INFO;
static const char *s_level_names[] = {"debug", "info", "warn", "error", "fatal"};

void lk_log_init(const char *program, lk_log_level_t threshold)
{
    if (program)
        snprintf(s_program, sizeof s_program, "%s", program);
    s_threshold = threshold;
}

lk_log_level_t lk_log_level_parse(const char *text)
{
    for (int level = LK_LOG_DEBUG; level <= LK_LOG_ERROR; level++)
        if (text && strcasecmp(text, s_level_names[level]) == 0)
            return (lk_log_level_t)level;
    return LK_LOG_INFO;
}

/* Formats and writes one line; control characters in the text are replaced so that a value
   from the network can never forge a second log line. */
static void s_log_vwrite(lk_log_level_t level, const char *fmt, va_list args)
{
    char line[2048];
    char stamp[32];
    lk_time_format(lk_now_ms(), stamp, sizeof stamp);
    int head = snprintf(line, sizeof line, "%s %s %s: ", stamp, s_program, s_level_names[level]);
    int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, args);
    size_t length = (size_t)head + (body < 0 ? 0 : (size_t)body);
    if (length > sizeof line - 2)
        length = sizeof line - 2;
    for (size_t i = (size_t)head; i < length; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[length++] = '\n';
    ssize_t written = write(STDERR_FILENO, line, length);
    (void)written;
}

void lk_log_write(lk_log_level_t level, const char *fmt, ...)
{
    if (level < s_threshold)
        return;
    va_list args;
    va_start(args, fmt);
    s_log_vwrite(level, fmt, args);
    va_end(args);
}

void lk_fatal(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    s_log_vwrite(LK_LOG_FATAL, fmt, args);
    va_end(args);
    /* _exit, not exit: atexit handlers (czmq's among them) would tear down sockets that other
       threads are still using and abort. Nothing is lost: every durable write is already
       committed, and peers re-send what was not acknowledged. */
    _exit(1);
}
