/*  kafka_tail — follows Kafka topics from their beginning and prints every message, for tests.

        kafka_tail BOOTSTRAP TOPIC[:PARTITIONS] ...

    Reads every partition (default 1) of each TOPIC from the oldest offset and writes one line
    per message on stdout: "TOPIC PARTITION OFFSET VALUE", VALUE being the message payload with
    any newline replaced by a space (Lookout's payloads are single-line JSON). Consumer errors
    that are not the end of a partition go to stderr; the tail carries on (a broker may be
    down on purpose). It never commits offsets and runs until stdin closes, SIGTERM or SIGINT.
*/
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_stop = 0;

static void s_on_signal(int signum)
{
    (void)signum;
    s_stop = 1;
}

/* librdkafka's own log lines would mix with the messages on stdout: send them to stderr. */
static void s_log(const rd_kafka_t *kafka, int level, const char *facility, const char *text)
{
    (void)kafka;
    fprintf(stderr, "kafka_tail: %d %s %s\n", level, facility, text);
}

/* True when stdin reached end of file (the test that started us is gone). */
static int s_stdin_closed(void)
{
    struct pollfd watch = {.fd = 0, .events = POLLIN};
    if (poll(&watch, 1, 0) <= 0)
        return 0;
    if (watch.revents & (POLLHUP | POLLERR))
        return 1;
    char byte;
    return read(0, &byte, 1) == 0;
}

static void s_print(const rd_kafka_message_t *message)
{
    const char *value = message->payload ? (const char *)message->payload : "";
    fprintf(stdout, "%s %d %lld ", rd_kafka_topic_name(message->rkt), (int)message->partition,
            (long long)message->offset);
    for (size_t index = 0; index < message->len; index++) {
        char c = value[index];
        fputc(c == '\n' || c == '\r' ? ' ' : c, stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: kafka_tail BOOTSTRAP TOPIC[:PARTITIONS] ...\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", "kafka_tail", err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_tail: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_log_cb(conf, s_log);
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!consumer) {
        fprintf(stderr, "kafka_tail: %s\n", err);
        return 1;
    }
    rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new(argc);
    for (int arg = 2; arg < argc; arg++) {
        char topic[256];
        int count = 1;
        const char *colon = strchr(argv[arg], ':');
        size_t length = colon ? (size_t)(colon - argv[arg]) : strlen(argv[arg]);
        if (length == 0 || length >= sizeof topic || (colon && (count = atoi(colon + 1)) < 1)) {
            fprintf(stderr, "kafka_tail: bad topic argument %s\n", argv[arg]);
            return 2;
        }
        memcpy(topic, argv[arg], length);
        topic[length] = '\0';
        for (int partition = 0; partition < count; partition++)
            rd_kafka_topic_partition_list_add(partitions, topic, partition)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer, partitions);
    rd_kafka_topic_partition_list_destroy(partitions);
    if (assigned) {
        fprintf(stderr, "kafka_tail: assign: %s\n", rd_kafka_err2str(assigned));
        return 1;
    }
    while (!s_stop && !s_stdin_closed()) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        if (!message)
            continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            s_print(message);
        else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            fprintf(stderr, "kafka_tail: %s\n", rd_kafka_message_errstr(message));
        rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return 0;
}
