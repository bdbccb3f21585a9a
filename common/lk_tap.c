/*  lk_tap — a debugging mirror: PUB [label][payload] for every message, dropped when unheard.

    The PUB socket is created with a small high-water mark and ZMQ_DONTWAIT sends, so a slow
    or absent listener costs at most one failed non-blocking send per message.
*/
#include "lk_tap.h"

#include <czmq.h>
#include <pthread.h>

#include "lk_log.h"
#include "lk_sock.h"

struct lk_tap_t {
    zsock_t *pub;
    pthread_mutex_t lock; /* zsock_t is not thread-safe; ingest taps from its worker pool */
};

lk_tap_t *lk_tap_new(const char *endpoint)
{
    if (!endpoint || !*endpoint)
        return NULL;
    lk_tap_t *self = calloc(1, sizeof *self);
    assert(self);
    self->pub = zsock_new(ZMQ_PUB);
    assert(self->pub);
    zsock_set_sndhwm(self->pub, 1000);
    zsock_set_linger(self->pub, 0);
    /* a tap shows every message, tenant data included: secured like any socket (lk_sock.h) */
    if (lk_sock_attach(self->pub, endpoint, true) != 0)
        lk_fatal("tap: cannot bind %s", endpoint);
    pthread_mutex_init(&self->lock, NULL);
    lk_info("tap: mirroring messages on %s", endpoint);
    return self;
}

void lk_tap_destroy(lk_tap_t **self_p)
{
    assert(self_p);
    lk_tap_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy(&self->pub);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void lk_tap_mirror(lk_tap_t *self, const char *label, const void *data, size_t size)
{
    if (!self)
        return;
    void *handle = zsock_resolve(self->pub);
    pthread_mutex_lock(&self->lock);
    if (zmq_send(handle, label, strlen(label), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(handle, data, size, ZMQ_DONTWAIT);
    pthread_mutex_unlock(&self->lock);
}
