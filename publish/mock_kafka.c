/*  mock_kafka — a Kafka cluster from librdkafka's mock-cluster API, in a process of its own.

        mock_kafka [BROKERS]        (default 3 brokers, ids 1..BROKERS)

    Prints one line with the bootstrap servers ("127.0.0.1:port,...") on stdout, then reads
    commands on stdin, one per line, and answers each with "ok" or "error: <why>":
        topic NAME PARTITIONS REPLICATION   create a topic
        errors APIKEY COUNT ERROR           the next COUNT requests of APIKEY (0 = Produce)
                                            fail with ERROR (a Kafka error code)
        down BROKER | up BROKER             take a broker off the network, bring it back
        rtt BROKER MS                       delay a broker's responses
    It exits when stdin closes or on SIGTERM/SIGINT (tests may also SIGKILL it).
*/
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one command line; writes the answer to stdout. */
static void s_command(rd_kafka_mock_cluster_t *cluster, char *line)
{
    char word[32] = "", name[256] = "";
    long a = 0, b = 0, c = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "%31s", word) != 1) {
        printf("error: empty command\n");
        return;
    }
    if (strcmp(word, "topic") == 0 && sscanf(line, "%*s %255s %ld %ld", name, &a, &b) == 3)
        err = rd_kafka_mock_topic_create(cluster, name, (int)a, (int)b);
    else if (strcmp(word, "errors") == 0 && sscanf(line, "%*s %ld %ld %ld", &a, &b, &c) == 3) {
        if (b < 1 || b > 100000) {
            printf("error: count out of range\n");
            return;
        }
        rd_kafka_resp_err_t *errors = malloc((size_t)b * sizeof *errors);
        if (!errors) {
            printf("error: out of memory\n");
            return;
        }
        for (long index = 0; index < b; index++)
            errors[index] = (rd_kafka_resp_err_t)c;
        rd_kafka_mock_push_request_errors_array(cluster, (int16_t)a, (size_t)b, errors);
        free(errors);
    } else if (strcmp(word, "down") == 0 && sscanf(line, "%*s %ld", &a) == 1)
        err = rd_kafka_mock_broker_set_down(cluster, (int32_t)a);
    else if (strcmp(word, "up") == 0 && sscanf(line, "%*s %ld", &a) == 1)
        err = rd_kafka_mock_broker_set_up(cluster, (int32_t)a);
    else if (strcmp(word, "rtt") == 0 && sscanf(line, "%*s %ld %ld", &a, &b) == 2)
        err = rd_kafka_mock_broker_set_rtt(cluster, (int32_t)a, (int)b);
    else {
        printf("error: unknown command\n");
        return;
    }
    if (err)
        printf("error: %s\n", rd_kafka_err2str(err));
    else
        printf("ok\n");
}

int main(int argc, char **argv)
{
    int brokers = argc > 1 ? atoi(argv[1]) : 3;
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "mock_kafka: BROKERS must be 1..16\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* the handle only hosts the cluster; keep its own logging quiet */
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!host) {
        fprintf(stderr, "mock_kafka: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(host, brokers);
    if (!cluster) {
        fprintf(stderr, "mock_kafka: cannot create the mock cluster\n");
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        s_command(cluster, line);
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(host);
    return 0;
}
