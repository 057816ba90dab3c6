/*
 * python/src/channel.c - memview.Channel, Loan and Message: libmemview's zero-copy channels.
 *
 * A Loan is the producer's writable view of a free slot (mv_chan_loan), a Message a consumer's
 * readonly view of a received one (mv_chan_recv). Both are buffer objects: every buffer Python
 * takes from one (memoryview, numpy.asarray) is an export of the libmemview view, so sending a
 * loan or releasing a message while such a buffer is alive is refused with the library's
 * BufferError, and a slot is never reused under a live numpy array.
 *
 * Threads: a channel handle belongs to one thread at a time (mv_chan(3)), and releasing a
 * message hands its slot back through the handle. Each Channel has a mutex that every call on
 * the handle holds, releases of loans and messages included. Blocking calls (loan, recv,
 * wait_consumers, join) release the GIL; loan, recv and wait_consumers wait in slices of
 * MVPY_SLICE_NS, dropping the mutex and checking for signals between slices, so Ctrl-C works
 * and another thread can release, send or close meanwhile. A Loan or Message that dies while
 * another thread holds the mutex (garbage collected during a blocking recv, say) cannot wait
 * for it with the GIL held: its view goes on the channel's pending list, which whoever holds
 * the mutex releases before letting go of it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "binding.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A loaned or received slot's view, on the C heap: its release may happen without the GIL. */
struct slotview {
	mv_view view;
	struct slotview *next; /* on the channel's pending list */
};

typedef struct {
	PyObject_HEAD
	mv_chan *ch;              /* NULL once closed */
	pthread_mutex_t mu;       /* the handle: one thread at a time */
	pthread_mutex_t pend_mu;  /* guards pending */
	struct slotview *pending; /* views to release, from objects that died while mu was held */
	PyObject *name;
	int producer;
	unsigned long fork_gen;   /* mvpy_fork_generation when made: a child's copy is dead */
	PyObject *weakrefs;
} ChannelObject;

/* A Loan or a Message. */
typedef struct {
	PyObject_HEAD
	ChannelObject *chan;  /* strong: the handle outlives its views */
	struct slotview *sv;  /* NULL once sent or released */
	Py_ssize_t nbytes;
	PyObject *weakrefs;
} SlotObject;

PyTypeObject *MvpyChannelStats_Type;

/* ------------------------------------------------------------------ the handle's mutex */

/* A look without pend_mu (the hot path): pushes store the list head with release order. */
static int chan_has_pending(ChannelObject *self)
{
	return __atomic_load_n(&self->pending, __ATOMIC_ACQUIRE) != NULL;
}

/* Release the views of objects that died while the mutex was held (caller holds it). */
static void chan_drain(ChannelObject *self)
{
	struct slotview *sv, *next;

	if (!chan_has_pending(self))
		return;
	pthread_mutex_lock(&self->pend_mu);
	sv = self->pending;
	__atomic_store_n(&self->pending, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&self->pend_mu);
	for (; sv; sv = next) {
		next = sv->next;
		mv_view_release(&sv->view); /* no exports: they would have kept the object alive */
		free(sv);
	}
}


/*
 * Let go of the mutex, releasing pending views first. A view pushed after the drain, by a
 * thread whose trylock failed because we still held the mutex, is seen here after unlocking.
 */
static void chan_unlock(ChannelObject *self)
{
	for (;;) {
		chan_drain(self);
		pthread_mutex_unlock(&self->mu);
		if (!chan_has_pending(self) || pthread_mutex_trylock(&self->mu) != 0)
			return;
	}
}

/* A dying object's view: released now if the mutex is free, else by its holder. */
static void chan_release_later(ChannelObject *self, struct slotview *sv)
{
	if (pthread_mutex_trylock(&self->mu) == 0) {
		mv_view_release(&sv->view);
		free(sv);
		chan_unlock(self);
		return;
	}
	pthread_mutex_lock(&self->pend_mu);
	sv->next = self->pending;
	__atomic_store_n(&self->pending, sv, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&self->pend_mu);
	if (pthread_mutex_trylock(&self->mu) == 0)
		chan_unlock(self);
}

static int forked(ChannelObject *self)
{
	return self->fork_gen != mvpy_fork_generation;
}

static PyObject *forked_error(void)
{
	PyErr_SetString(PyExc_ValueError, "the channel was opened before fork(): a forked child "
					  "cannot use it (create or join channels after forking)");
	return NULL;
}

static PyObject *closed_error(void)
{
	PyErr_SetString(PyExc_ValueError, "operation on a closed channel");
	return NULL;
}

/* Lock the handle with the GIL held; NULL with ValueError (unlocked) when it is closed. */
static mv_chan *chan_lock(ChannelObject *self)
{
	if (forked(self)) {
		forked_error();
		return NULL;
	}
	mvpy_lock(&self->mu);
	if (!self->ch) {
		chan_unlock(self);
		closed_error();
		return NULL;
	}
	return self->ch;
}

/* ------------------------------------------------------------------ waiting in slices */

/* One slice of a blocking call, on the locked handle without the GIL. */
typedef int (*chan_call)(mv_chan *ch, void *arg, long long slice_ns);

#define CLOSED_RC INT_MIN

/*
 * Call @fn in slices until it does not time out or @timeout_ns (-1: forever) has passed.
 * Returns its result (>= 0), or -1 with the exception set: the library's error, ValueError
 * for a channel another thread closed, or what a signal handler raised between slices.
 */
static int chan_wait(ChannelObject *self, chan_call fn, void *arg, long long timeout_ns)
{
	long long deadline = timeout_ns < 0 ? 0 : mvpy_now_ns() + timeout_ns;
	char msg[MVPY_MSG_MAX];
	int rc;

	if (forked(self)) {
		forked_error();
		return -1;
	}
	for (;;) {
		long long slice = MVPY_SLICE_NS;
		int last = 0;

		Py_BEGIN_ALLOW_THREADS
		pthread_mutex_lock(&self->mu);
		/* Time left is reckoned once the handle is ours: other threads may have had it. */
		if (timeout_ns >= 0) {
			long long left = deadline - mvpy_now_ns();

			if (left <= MVPY_SLICE_NS) {
				slice = left > 0 ? left : 0;
				last = 1;
			}
		}
		if (!self->ch) {
			rc = CLOSED_RC;
		} else {
			rc = fn(self->ch, arg, slice);
			/* A deadline that passed while we waited for the handle is a timeout. */
			if (rc == -EAGAIN && timeout_ns > 0)
				rc = -ETIMEDOUT;
			if (rc < 0)
				mvpy_keep_msg(msg);
		}
		chan_unlock(self);
		Py_END_ALLOW_THREADS
		if (rc == CLOSED_RC) {
			closed_error();
			return -1;
		}
		if (rc != -ETIMEDOUT || last)
			break;
		if (PyErr_CheckSignals() < 0)
			return -1;
	}
	if (rc < 0) {
		mvpy_error(rc, msg);
		return -1;
	}
	return rc;
}

static int call_recv(mv_chan *ch, void *arg, long long ns)
{
	return mv_chan_recv(&((struct slotview *)arg)->view, ch, ns);
}

static int call_loan(mv_chan *ch, void *arg, long long ns)
{
	return mv_chan_loan(&((struct slotview *)arg)->view, ch, ns);
}

static int call_wait_consumers(mv_chan *ch, void *arg, long long ns)
{
	return mv_chan_wait_consumers(ch, *(unsigned *)arg, ns);
}

/* ------------------------------------------------------------------ Loan and Message */

static PyObject *slot_new(PyTypeObject *type, ChannelObject *chan, struct slotview *sv)
{
	SlotObject *self = (SlotObject *)type->tp_alloc(type, 0);

	if (!self) {
		chan_release_later(chan, sv);
		return NULL;
	}
	self->chan = (ChannelObject *)Py_NewRef(chan);
	self->sv = sv;
	self->nbytes = mv_view_nbytes(&sv->view);
	return (PyObject *)self;
}

static void slot_dealloc(SlotObject *self)
{
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	if (self->sv && forked(self->chan))
		free(self->sv); /* the parent's slot: a release here would hand it back */
	else if (self->sv)
		chan_release_later(self->chan, self->sv);
	Py_XDECREF(self->chan);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static const char *slot_what(SlotObject *self)
{
	return Py_IS_TYPE(self, &MvpyLoan_Type) ? "loan was sent or released" :
						  "message was released";
}

static PyObject *slot_release(SlotObject *self, PyObject *unused)
{
	int rc;

	if (!self->sv)
		Py_RETURN_NONE;
	if (forked(self->chan))
		return forked_error();
	mvpy_lock(&self->chan->mu);
	rc = mv_view_release(&self->sv->view);
	if (rc == 0) {
		free(self->sv);
		self->sv = NULL;
	}
	chan_unlock(self->chan);
	if (rc < 0)
		return mvpy_error(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *slot_enter(SlotObject *self, PyObject *unused)
{
	if (!self->sv) {
		PyErr_Format(PyExc_ValueError, "the %s", slot_what(self));
		return NULL;
	}
	return Py_NewRef(self);
}

static PyObject *slot_exit(SlotObject *self, PyObject *args)
{
	return slot_release(self, NULL);
}

static PyObject *slot_get_nbytes(SlotObject *self, void *unused)
{
	return PyLong_FromSsize_t(self->nbytes);
}

static PyObject *slot_get_released(SlotObject *self, void *unused)
{
	return PyBool_FromLong(self->sv == NULL);
}

static PyObject *slot_repr(SlotObject *self)
{
	return PyUnicode_FromFormat("<%s of %R, %zd bytes%s>", Py_TYPE(self)->tp_name,
				    self->chan->name, self->nbytes, self->sv ? "" : ", released");
}

static int slot_getbuffer(SlotObject *self, Py_buffer *view, int flags)
{
	mv_buffer *rec;
	int rc;

	view->obj = NULL;
	if (!self->sv) {
		PyErr_Format(PyExc_ValueError, "operation forbidden: the %s", slot_what(self));
		return -1;
	}
	rec = PyMem_RawMalloc(sizeof(*rec));
	if (!rec) {
		PyErr_NoMemory();
		return -1;
	}
	rc = mv_buffer_get(rec, mv_view_exporter(&self->sv->view), (unsigned)flags);
	if (rc < 0) {
		PyMem_RawFree(rec);
		return mvpy_buffer_error(rc);
	}
	mvpy_fill_buffer(view, (PyObject *)self, rec);
	return 0;
}

static void slot_releasebuffer(SlotObject *self, Py_buffer *view)
{
	mv_buffer *rec = view->internal;

	/* Only the view's own count: the slot goes back when the view itself is released. */
	mv_buffer_release(rec);
	PyMem_RawFree(rec);
}

static PyBufferProcs slot_as_buffer = {
	.bf_getbuffer = (getbufferproc)slot_getbuffer,
	.bf_releasebuffer = (releasebufferproc)slot_releasebuffer,
};

#define FN(f) ((PyCFunction)(void (*)(void))(f))

PyDoc_STRVAR(loan_release_doc,
"release()\n"
"--\n"
"\n"
"Give the slot back unsent. Raises BufferError while buffers taken from the loan are\n"
"alive. Does nothing once the loan was sent or released.");

PyDoc_STRVAR(message_release_doc,
"release()\n"
"--\n"
"\n"
"Hand the slot back to the producer. Raises BufferError while buffers taken from the\n"
"message (memoryviews, numpy arrays) are alive. Does nothing when released already.");

static PyMethodDef loan_methods[] = {
	{ "release", FN(slot_release), METH_NOARGS, loan_release_doc },
	{ "__enter__", FN(slot_enter), METH_NOARGS, NULL },
	{ "__exit__", FN(slot_exit), METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL }
};

static PyMethodDef message_methods[] = {
	{ "release", FN(slot_release), METH_NOARGS, message_release_doc },
	{ "__enter__", FN(slot_enter), METH_NOARGS, NULL },
	{ "__exit__", FN(slot_exit), METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL }
};

static PyGetSetDef slot_getset[] = {
	{ "nbytes", (getter)slot_get_nbytes, NULL, "The length in bytes.", NULL },
	{ "released", (getter)slot_get_released, NULL, "True once sent or released.", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

PyDoc_STRVAR(loan_doc,
"A free slot loaned to the producer by Channel.loan(): a writable buffer object.\n"
"\n"
"Fill it through memoryview(loan) or numpy.asarray(loan) (typed by the channel's format\n"
"and shape), release those buffers, then Channel.send(loan). A loan released or collected\n"
"unsent gives its slot back. As a context manager it is released on exit (after a send,\n"
"that does nothing).");

PyDoc_STRVAR(message_doc,
"A received message: a readonly buffer object over the slot the producer filled.\n"
"\n"
"memoryview(msg) and numpy.asarray(msg) are zero-copy (typed by the channel when the\n"
"message fills the slot, else bytes). release() - or the end of a with block, or the\n"
"object's collection - hands the slot back; it raises BufferError while buffers taken\n"
"from the message are alive, as memoryview.release() does.");

PyTypeObject MvpyLoan_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memview.Loan",
	.tp_basicsize = sizeof(SlotObject),
	.tp_dealloc = (destructor)slot_dealloc,
	.tp_repr = (reprfunc)slot_repr,
	.tp_as_buffer = &slot_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = loan_doc,
	.tp_weaklistoffset = offsetof(SlotObject, weakrefs),
	.tp_methods = loan_methods,
	.tp_getset = slot_getset,
};

PyTypeObject MvpyMessage_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memview.Message",
	.tp_basicsize = sizeof(SlotObject),
	.tp_dealloc = (destructor)slot_dealloc,
	.tp_repr = (reprfunc)slot_repr,
	.tp_as_buffer = &slot_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = message_doc,
	.tp_weaklistoffset = offsetof(SlotObject, weakrefs),
	.tp_methods = message_methods,
	.tp_getset = slot_getset,
};

/* ------------------------------------------------------------------ Channel */

static PyObject *channel_wrap(PyTypeObject *type, mv_chan *ch, PyObject *name, int producer)
{
	ChannelObject *self = (ChannelObject *)type->tp_alloc(type, 0);

	if (!self) {
		mv_chan_close(ch);
		return NULL;
	}
	self->ch = ch;
	pthread_mutex_init(&self->mu, NULL);
	pthread_mutex_init(&self->pend_mu, NULL);
	self->name = Py_NewRef(name);
	self->producer = producer;
	self->fork_gen = mvpy_fork_generation;
	return (PyObject *)self;
}

/* A count argument that the library takes as unsigned. */
static int unsigned_arg(Py_ssize_t v, const char *what, unsigned *out)
{
	if (v < 0) {
		PyErr_Format(PyExc_ValueError, "%s must not be negative", what);
		return -1;
	}
	if ((size_t)v > UINT_MAX) {
		PyErr_Format(PyExc_OverflowError, "%s is too large", what);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

PyDoc_STRVAR(create_doc,
"create(name, slots=16, slot_size=4096, format='B', shape=None, spin=False, mode=0o600)\n"
"--\n"
"\n"
"Create channel name ('/name') and become its producer.\n"
"\n"
"A ring of slots slots of slot_size bytes (rounded up to 64); messages are typed by format\n"
"and shape (None: one dimension over the slot). spin makes waiters spin instead of\n"
"sleeping: the lowest latency, one busy core per waiter. mode says who may join, as file\n"
"permission bits for reading (the producer's user always).\n"
"\n"
"The producer admits joining consumers only inside its own calls (loan, send, stats,\n"
"wait_consumers). Raises FileExistsError (a live channel has the name), ValueError,\n"
"OSError.");

static PyObject *channel_create(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "name",	 "slots", "slot_size", "format",
					"shape", "spin",  "mode",      NULL };
	Py_ssize_t shape[MV_MAXDIM], slots = 16, slot_size = 4096;
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	PyObject *name, *shape_obj = Py_None;
	const char *cname, *format = "B";
	char msg[MVPY_MSG_MAX];
	int spin = 0, mode = 0600, ndim, rc;
	mv_chan *ch = NULL;
	unsigned mode_u;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|nnsOpi:create", (char **)kwlist,
					 &name, &slots,
					 &slot_size, &format, &shape_obj, &spin, &mode))
		return NULL;
	cname = mvpy_cstr(name, "name");
	if (!cname || unsigned_arg(slots, "slots", &o.nslots) < 0 ||
	    unsigned_arg(mode, "mode", &mode_u) < 0 || mvpy_shape(shape_obj, shape, &ndim) < 0)
		return NULL;
	if (slot_size < 0) {
		PyErr_SetString(PyExc_ValueError, "slot_size must not be negative");
		return NULL;
	}
	o.slot_size = (size_t)slot_size;
	o.format = format;
	o.shape = ndim >= 0 ? shape : NULL;
	o.ndim = ndim;
	o.flags = spin ? MV_CHAN_SPIN : 0;
	o.mode = mode_u;
	Py_BEGIN_ALLOW_THREADS
	rc = mv_chan_create(&ch, cname, &o);
	if (rc < 0)
		mvpy_keep_msg(msg);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return mvpy_error(rc, msg);
	return channel_wrap(type, ch, name, 1);
}

PyDoc_STRVAR(join_doc,
"join(name, timeout=None, any_owner=False)\n"
"--\n"
"\n"
"Join channel name as a consumer: every message sent after the producer admits us, in\n"
"order. Waits up to timeout seconds (None: without limit) for the producer to admit us,\n"
"which it does during its next call; the wait is not interrupted by signals, so give a\n"
"timeout where Ctrl-C must work. A channel whose producer runs as another user is refused\n"
"unless any_owner is true.\n"
"\n"
"Raises FileNotFoundError, TimeoutError, PermissionError (another user's producer, or the\n"
"channel's mode), BufferError (every consumer place taken), BrokenPipeError (the\n"
"producer went away), OSError (EBADMSG: not a memview producer).");

static PyObject *channel_join(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "name", "timeout", "any_owner", NULL };
	mv_chan_opts o = MV_CHAN_OPTS_INIT;
	PyObject *name, *timeout = Py_None;
	char msg[MVPY_MSG_MAX];
	int any_owner = 0, rc;
	mv_chan *ch = NULL;
	const char *cname;
	long long ns;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Op:join", (char **)kwlist, &name, &timeout,
					 &any_owner))
		return NULL;
	cname = mvpy_cstr(name, "name");
	if (!cname || mvpy_timeout(timeout, &ns) < 0)
		return NULL;
	o.flags = any_owner ? MV_CHAN_ANY_OWNER : 0;
	/*
	 * One call, not slices: a join that timed out after the producer admitted it would leave
	 * the producer counting a consumer that is not there until it notices.
	 */
	Py_BEGIN_ALLOW_THREADS
	rc = mv_chan_join(&ch, cname, &o, ns);
	if (rc < 0)
		mvpy_keep_msg(msg);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return mvpy_error(rc, msg);
	return channel_wrap(type, ch, name, 0);
}

/* A loan or a message from the handle: a fresh slot view filled by @fn. */
static PyObject *channel_take(ChannelObject *self, PyObject *timeout, chan_call fn,
			      PyTypeObject *type)
{
	struct slotview *sv;
	long long ns;

	if (mvpy_timeout(timeout, &ns) < 0)
		return NULL;
	sv = malloc(sizeof(*sv)); /* written by the library on success only */
	if (!sv)
		return PyErr_NoMemory();
	if (chan_wait(self, fn, sv, ns) < 0) {
		free(sv);
		return NULL;
	}
	return slot_new(type, self, sv);
}

PyDoc_STRVAR(loan_doc_m,
"loan(timeout=None)\n"
"--\n"
"\n"
"Producer: a free slot as a writable Loan. Waits up to timeout seconds (None: without\n"
"limit; 0: not at all) for a consumer to hand a slot back. Several loans may be out at\n"
"once; consumers see the messages in the order of the send() calls.\n"
"\n"
"Raises TimeoutError, BlockingIOError (timeout 0 and no free slot), BufferError (every\n"
"slot is loaned and not yet sent), ValueError (not the producer, or closed).");

static PyObject *channel_loan(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "timeout", NULL };
	PyObject *timeout = Py_None;

	/* The common call, recv() or loan(), skips the argument parser: it is per message. */
	if ((PyTuple_GET_SIZE(args) || kw) &&
	    !PyArg_ParseTupleAndKeywords(args, kw, "|O:loan", (char **)kwlist, &timeout))
		return NULL;
	return channel_take(self, timeout, call_loan, &MvpyLoan_Type);
}

PyDoc_STRVAR(recv_doc,
"recv(timeout=None)\n"
"--\n"
"\n"
"Consumer: the next message, as a readonly Message. Waits up to timeout seconds (None:\n"
"without limit; 0: not at all), with the GIL released.\n"
"\n"
"Raises TimeoutError, BlockingIOError (timeout 0 and no message), BrokenPipeError (the\n"
"producer closed or died and every message it sent was received), ValueError (not a\n"
"consumer, or closed), OSError (EBADMSG: the producer broke the protocol).");

static PyObject *channel_recv(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "timeout", NULL };
	PyObject *timeout = Py_None;

	/* The common call, recv() or loan(), skips the argument parser: it is per message. */
	if ((PyTuple_GET_SIZE(args) || kw) &&
	    !PyArg_ParseTupleAndKeywords(args, kw, "|O:recv", (char **)kwlist, &timeout))
		return NULL;
	return channel_take(self, timeout, call_recv, &MvpyMessage_Type);
}

PyDoc_STRVAR(send_doc,
"send(loan, nbytes=None)\n"
"--\n"
"\n"
"Producer: publish the loan to every consumer. nbytes is the message length (None: the\n"
"whole typed slot; a shorter message is bytes to consumers). Buffers taken from the loan\n"
"must be released first (BufferError otherwise): nothing may write a slot once sent.\n"
"\n"
"Raises BufferError, TypeError (not a Loan), ValueError (a loan already sent, another\n"
"channel's, nbytes larger than a slot).");

static PyObject *channel_send(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "loan", "nbytes", NULL };
	PyObject *loan_obj, *nbytes_obj = Py_None;
	Py_ssize_t nbytes;
	SlotObject *loan;
	mv_chan *ch;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:send", (char **)kwlist,
					 &loan_obj, &nbytes_obj))
		return NULL;
	if (!Py_IS_TYPE(loan_obj, &MvpyLoan_Type)) {
		PyErr_Format(PyExc_TypeError, "send() argument must be a memview.Loan, not %.100s",
			     Py_TYPE(loan_obj)->tp_name);
		return NULL;
	}
	loan = (SlotObject *)loan_obj;
	if (loan->chan != self) {
		PyErr_SetString(PyExc_ValueError, "the loan is another channel's");
		return NULL;
	}
	if (!loan->sv) {
		PyErr_SetString(PyExc_ValueError, "the loan was sent or released");
		return NULL;
	}
	nbytes = loan->nbytes;
	if (nbytes_obj != Py_None) {
		nbytes = PyNumber_AsSsize_t(nbytes_obj, PyExc_OverflowError);
		if (nbytes == -1 && PyErr_Occurred())
			return NULL;
		if (nbytes < 0) {
			PyErr_SetString(PyExc_ValueError, "nbytes must not be negative");
			return NULL;
		}
	}
	ch = chan_lock(self);
	if (!ch)
		return NULL;
	rc = mv_chan_send(ch, &loan->sv->view, (size_t)nbytes);
	if (rc == 0) {
		free(loan->sv);
		loan->sv = NULL;
	}
	chan_unlock(self);
	if (rc < 0)
		return mvpy_error(rc, NULL);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(wait_consumers_doc,
"wait_consumers(n, timeout=None)\n"
"--\n"
"\n"
"Producer: admit joining consumers until at least n are admitted; returns how many are.\n"
"Raises TimeoutError, ValueError (not the producer).");

static PyObject *channel_wait_consumers(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "n", "timeout", NULL };
	PyObject *timeout = Py_None;
	Py_ssize_t n;
	unsigned un;
	long long ns;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "n|O:wait_consumers", (char **)kwlist,
					 &n, &timeout))
		return NULL;
	if (unsigned_arg(n, "n", &un) < 0 || mvpy_timeout(timeout, &ns) < 0)
		return NULL;
	rc = chan_wait(self, call_wait_consumers, &un, ns);
	return rc < 0 ? NULL : PyLong_FromLong(rc);
}

PyDoc_STRVAR(stats_doc,
"stats()\n"
"--\n"
"\n"
"This process's counters: a ChannelStats named tuple (sent, received, free_slots,\n"
"consumers, reclaimed, bad_returns). A producer also admits joiners and reclaims dead\n"
"consumers' slots here: an idle producer calls it now and then.");

static PyObject *channel_stats(ChannelObject *self, PyObject *unused)
{
	mv_chan_stats st = MV_CHAN_STATS_INIT;
	mv_chan *ch = chan_lock(self);
	PyObject *t;
	int rc;

	if (!ch)
		return NULL;
	rc = mv_chan_get_stats(&st, ch);
	chan_unlock(self);
	if (rc < 0)
		return mvpy_error(rc, NULL);
	t = PyStructSequence_New(MvpyChannelStats_Type);
	if (!t)
		return NULL;
	PyStructSequence_SET_ITEM(t, 0, PyLong_FromUnsignedLongLong(st.sent));
	PyStructSequence_SET_ITEM(t, 1, PyLong_FromUnsignedLongLong(st.received));
	PyStructSequence_SET_ITEM(t, 2, PyLong_FromUnsignedLong(st.free_slots));
	PyStructSequence_SET_ITEM(t, 3, PyLong_FromUnsignedLong(st.consumers));
	PyStructSequence_SET_ITEM(t, 4, PyLong_FromUnsignedLong(st.reclaimed));
	PyStructSequence_SET_ITEM(t, 5, PyLong_FromUnsignedLong(st.bad_returns));
	if (PyErr_Occurred()) {
		Py_DECREF(t);
		return NULL;
	}
	return t;
}

PyDoc_STRVAR(close_doc,
"close()\n"
"--\n"
"\n"
"Leave the channel. A producer's consumers get BrokenPipeError after the last message,\n"
"and the name is free again. Raises BufferError while loans or messages of this channel are\n"
"alive and not released. Closing a closed channel does nothing.");

static PyObject *channel_close(ChannelObject *self, PyObject *unused)
{
	int rc;

	if (forked(self))
		return forked_error();
	mvpy_lock(&self->mu);
	chan_drain(self);
	rc = mv_chan_close(self->ch);
	if (rc == 0)
		self->ch = NULL;
	chan_unlock(self);
	if (rc < 0)
		return mvpy_error(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *channel_enter(ChannelObject *self, PyObject *unused)
{
	if (!self->ch)
		return closed_error();
	return Py_NewRef(self);
}

static PyObject *channel_exit(ChannelObject *self, PyObject *args)
{
	return channel_close(self, NULL);
}

static PyObject *channel_get_name(ChannelObject *self, void *unused)
{
	return Py_NewRef(self->name);
}

static PyObject *channel_get_producer(ChannelObject *self, void *unused)
{
	return PyBool_FromLong(self->producer);
}

static PyObject *channel_get_closed(ChannelObject *self, void *unused)
{
	return PyBool_FromLong(self->ch == NULL);
}

static PyObject *channel_repr(ChannelObject *self)
{
	return PyUnicode_FromFormat("<memview.Channel %R %s%s>", self->name,
				    self->producer ? "producer" : "consumer",
				    self->ch ? "" : ", closed");
}

static void channel_dealloc(ChannelObject *self)
{
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	/*
	 * Loans and messages hold a reference: none is alive, and nobody holds the mutex. A
	 * forked child's copy is left alone: closing it would close the parent's channel.
	 */
	if (!forked(self)) {
		chan_drain(self);
		if (self->ch && mv_chan_close(self->ch) == 0)
			self->ch = NULL;
	}
	pthread_mutex_destroy(&self->mu);
	pthread_mutex_destroy(&self->pend_mu);
	Py_XDECREF(self->name);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

#define METH_CLASSKW (METH_VARARGS | METH_KEYWORDS | METH_CLASS)

static PyMethodDef channel_methods[] = {
	{ "create", FN(channel_create), METH_CLASSKW, create_doc },
	{ "join", FN(channel_join), METH_CLASSKW, join_doc },
	{ "loan", FN(channel_loan), METH_VARARGS | METH_KEYWORDS, loan_doc_m },
	{ "send", FN(channel_send), METH_VARARGS | METH_KEYWORDS, send_doc },
	{ "recv", FN(channel_recv), METH_VARARGS | METH_KEYWORDS, recv_doc },
	{ "wait_consumers", FN(channel_wait_consumers), METH_VARARGS | METH_KEYWORDS,
	  wait_consumers_doc },
	{ "stats", FN(channel_stats), METH_NOARGS, stats_doc },
	{ "close", FN(channel_close), METH_NOARGS, close_doc },
	{ "__enter__", FN(channel_enter), METH_NOARGS, NULL },
	{ "__exit__", FN(channel_exit), METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL }
};

static PyGetSetDef channel_getset[] = {
	{ "name", (getter)channel_get_name, NULL, "The channel's name.", NULL },
	{ "producer", (getter)channel_get_producer, NULL, "True for the producer's handle.",
	  NULL },
	{ "closed", (getter)channel_get_closed, NULL, "True once close() succeeded.", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

PyDoc_STRVAR(channel_doc,
"A memview channel: zero-copy handoff of buffers between processes.\n"
"\n"
"One producer (Channel.create) loans slots, fills and sends them; up to 64 consumers\n"
"(Channel.join) each receive every message as a readonly buffer over the same memory.\n"
"A slot is reused only once every consumer released its message. A handle may be used\n"
"from several threads, one call at a time (a mutex sees to it); blocking calls release\n"
"the GIL. Create or join after fork(): a forked child cannot use its copy of a handle\n"
"(ValueError), and the copy keeps that participant looking alive until the child exits.");

PyTypeObject MvpyChannel_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memview.Channel",
	.tp_basicsize = sizeof(ChannelObject),
	.tp_dealloc = (destructor)channel_dealloc,
	.tp_repr = (reprfunc)channel_repr,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = channel_doc,
	.tp_weaklistoffset = offsetof(ChannelObject, weakrefs),
	.tp_methods = channel_methods,
	.tp_getset = channel_getset,
};

static PyStructSequence_Field stats_fields[] = {
	{ "sent", "producer: messages sent" },
	{ "received", "consumer: messages received" },
	{ "free_slots", "producer: slots free right now" },
	{ "consumers", "consumers admitted and alive" },
	{ "reclaimed", "producer: consumers found dead and reclaimed" },
	{ "bad_returns", "producer: slot ids handed back that were not owed" },
	{ NULL, NULL }
};

static PyStructSequence_Desc stats_desc = {
	"memview.ChannelStats", "What Channel.stats() reports.", stats_fields, 6
};

int mvpy_channel_ready(PyObject *module)
{
	if (PyType_Ready(&MvpyChannel_Type) < 0 || PyType_Ready(&MvpyLoan_Type) < 0 ||
	    PyType_Ready(&MvpyMessage_Type) < 0)
		return -1;
	MvpyChannelStats_Type = PyStructSequence_NewType(&stats_desc);
	if (!MvpyChannelStats_Type)
		return -1;
	if (PyModule_AddObjectRef(module, "Channel", (PyObject *)&MvpyChannel_Type) < 0 ||
	    PyModule_AddObjectRef(module, "Loan", (PyObject *)&MvpyLoan_Type) < 0 ||
	    PyModule_AddObjectRef(module, "Message", (PyObject *)&MvpyMessage_Type) < 0 ||
	    PyModule_AddObjectRef(module, "ChannelStats", (PyObject *)MvpyChannelStats_Type) < 0)
		return -1;
	return 0;
}
