/*
 * A fork server for ffmpeg and ffprobe, loaded into the unmodified Debian binaries with LD_PRELOAD.
 *
 * Why: Debian's ffmpeg links ~215 shared libraries (libavdevice pulls in SDL, PulseAudio, X11, …), and
 * loading and relocating them costs ~100 ms of CPU per process start: for a 4-second clip that is most
 * of the media stage's CPU, twice (ffprobe and ffmpeg). Here the binary is started once; every run after
 * that is a fork() of the loaded, initialised process that calls the binary's own main() with the run's
 * arguments. The code that reads the file is exactly the ffmpeg/ffprobe that a spawn would run, with the
 * same options (whitelists, limits), and each run is still its own process: a file that crashes the
 * decoder takes down only its own fork.
 *
 * What a fork shares with its server, and what is done about it:
 * - Memory: a run starts as a copy of the server, so the server keeps nothing of one run for the next
 *   to find (output buffers and requests are wiped after use), and a run starts with no descriptor
 *   but its stdin (/dev/null), stdout and stderr.
 * - The stack canary is renewed in each run (fresh_stack_canary); the address layout cannot be, so the
 *   worker retires a server after a run dies of a crash signal and after a bounded number of runs
 *   (fork-server.ts), which bounds how often a file can probe one layout.
 * - The uid: a subverted run can signal the server, as a subverted spawned ffmpeg could signal the
 *   worker. The worker kills a server that leaves a kill request unanswered, and its runs are then
 *   retried elsewhere, like those of a worker that died.
 *
 * How: __libc_start_main is interposed. Without OMNIAFFECT_FORKSERVER=1 in the environment the
 * binary starts normally. With it, the real __libc_start_main (so libc is fully initialised) runs
 * serve() instead of main. serve() reads requests on fd 0 and writes events on fd 1, framed as
 * [u8 type][u32 id LE][u32 length LE][payload]:
 *   requests:  'R' run   payload = argv, each string NUL-terminated
 *              'K' kill  (SIGKILL the run and its process group; a no-op once it has been reaped)
 *   events:    'O' / 'E' the run's stdout / stderr bytes
 *              'X' exit  payload = i32 wait status; the last event of a run, sent once its process
 *                        is reaped and what it wrote is forwarded (its process group is killed then,
 *                        so nothing it started can hold its pipes open)
 *              'F' failed to start, payload = i32 errno (nothing ran; E2BIG for a request over 1 MiB)
 * End of input kills every run and ends the server. The server dies with its parent and every run
 * with the server (PR_SET_PDEATHSIG), so nothing outlives the worker that owns it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

static main_fn real_main;
/* set in a run's process: its exit skips the libraries' destructors (see exit below) */
static int in_run;
extern char **environ;

#define MAX_RUNS 256
#define MAX_REQUEST (1 << 20)

struct run {
  int used;
  uint32_t id;
  pid_t pid;
  int out, err; /* read ends; -1 once drained */
  int reaped;
  int status;
};

static struct run runs[MAX_RUNS];
static int events_fd = 1;

static void die(const char *what) {
  /* the worker sees the server exit and fails its runs as an infrastructure error, not the file's */
  (void)!write(2, what, strlen(what));
  (void)!write(2, "\n", 1);
  _exit(70);
}

static void write_all(const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(events_fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(0); /* the worker is gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void send_event(char type, uint32_t id, const void *payload, uint32_t len) {
  unsigned char h[9];
  h[0] = (unsigned char)type;
  memcpy(h + 1, &id, 4);
  memcpy(h + 5, &len, 4);
  write_all(h, 9);
  if (len) write_all(payload, len);
}

static int read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void close_pipes(struct run *r) {
  if (r->out >= 0) close(r->out);
  if (r->err >= 0) close(r->err);
  r->out = r->err = -1;
}

/* SIGKILL a run and whatever it started (its process group; the pid too, should setpgid have failed). */
static void kill_run(const struct run *r) {
  kill(-r->pid, SIGKILL);
  kill(r->pid, SIGKILL);
}

static void finish_if_done(struct run *r) {
  if (!r->used || !r->reaped || r->out >= 0 || r->err >= 0) return;
  int32_t st = r->status;
  send_event('X', r->id, &st, 4);
  r->used = 0;
}

static void close_from(int lowest) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  for (int fd = lowest; fd < (max > 0 ? max : 1024); fd++) close(fd);
}

/*
 * A fork keeps the server's stack-protector canary, which would let a file that leaks it in one run use
 * it in every later run of this server: each run gets a new one. Safe here because this frame and the
 * ones below it never return in the run (it ends in exit). The address layout cannot be renewed in a
 * fork; the worker retires a server after a run dies of a crash signal and after a bounded number of
 * runs (fork-server.ts). glibc keeps the canary's low byte zero, so a string read never leaks it.
 */
static void fresh_stack_canary(void) {
#if defined(__x86_64__)
  uint64_t c;
  if (getrandom(&c, sizeof c, 0) != (ssize_t)sizeof c) _exit(125);
  c &= ~(uint64_t)0xff;
  __asm__ volatile("movq %0, %%fs:0x28" : : "r"(c) : "memory");
#endif
}

/* Tells the worker a run could not start (nothing ran). */
static void refuse(uint32_t id, int32_t err) { send_event('F', id, &err, 4); }

static void start_run(uint32_t id, char *payload, int argc, const sigset_t *orig_mask) {
  struct run *slot = NULL;
  for (int i = 0; i < MAX_RUNS; i++)
    if (!runs[i].used) {
      slot = &runs[i];
      break;
    }
  if (!slot) {
    refuse(id, EAGAIN);
    return;
  }
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  int out[2], err[2];
  if (!argv) {
    refuse(id, ENOMEM);
    return;
  }
  if (pipe2(out, O_CLOEXEC) < 0) {
    int e = errno;
    free(argv);
    refuse(id, e);
    return;
  }
  if (pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    free(argv);
    refuse(id, e);
    return;
  }
  char *p = payload;
  for (int i = 0; i < argc; i++) {
    argv[i] = p;
    p += strlen(p) + 1;
  }
  pid_t server = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != server) _exit(127);
    /* what a spawn gives a process: default dispositions (the server ignores SIGPIPE), the mask it had */
    for (int sig = 1; sig < NSIG; sig++)
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, orig_mask, NULL);
    /* its own process group, so a kill reaches whatever the run may have started too */
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(126);
    close_from(3);
    fresh_stack_canary();
    in_run = 1;
    exit(real_main(argc, argv, environ));
  }
  int e = errno;
  close(out[1]);
  close(err[1]);
  free(argv);
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
    refuse(id, e);
    return;
  }
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  *slot = (struct run){.used = 1, .id = id, .pid = pid, .out = out[0], .err = err[0]};
}

static void pump(struct run *r, int *fd, char type) {
  static char buf[65536];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n > 0) {
      send_event(type, r->id, buf, (uint32_t)n);
      /* a run is a fork of this process: no run may find another's output in its copy */
      explicit_bzero(buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close(*fd);
    *fd = -1;
    finish_if_done(r);
    return;
  }
}

static void kill_all_and_exit(void) {
  for (int i = 0; i < MAX_RUNS; i++)
    if (runs[i].used && !runs[i].reaped) kill_run(&runs[i]);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  _exit(0);
}

static int serve(int argc0, char **argv0, char **envp0) {
  (void)argc0;
  (void)argv0;
  (void)envp0;
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent || parent == 1) _exit(0);
  int requests = fcntl(0, F_DUPFD_CLOEXEC, 10);
  events_fd = fcntl(1, F_DUPFD_CLOEXEC, 10);
  if (requests < 0 || events_fd < 0) die("forkserver: cannot set up its descriptors");
  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0) die("forkserver: cannot open /dev/null");
  close(devnull);
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld, orig;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &orig);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("forkserver: signalfd failed");
  send_event('H', 0, NULL, 0); /* ready: the libraries are loaded */

  struct pollfd fds[2 + 2 * MAX_RUNS];
  struct run *owner[2 + 2 * MAX_RUNS];
  /* one buffer for every request, wiped after each: a run must not find earlier requests (other files' paths) in it */
  static char payload[MAX_REQUEST + 1];
  for (;;) {
    int n = 0;
    fds[n++] = (struct pollfd){.fd = requests, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < MAX_RUNS; i++) {
      if (!runs[i].used) continue;
      if (runs[i].out >= 0) owner[n] = &runs[i], fds[n++] = (struct pollfd){.fd = runs[i].out, .events = POLLIN};
      if (runs[i].err >= 0) owner[n] = &runs[i], fds[n++] = (struct pollfd){.fd = runs[i].err, .events = POLLIN};
    }
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("forkserver: poll failed");
    }
    for (int k = 2; k < n; k++) {
      if (!fds[k].revents) continue;
      struct run *r = owner[k];
      if (fds[k].fd == r->out) pump(r, &r->out, 'O');
      else if (fds[k].fd == r->err) pump(r, &r->err, 'E');
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) break;
        for (int i = 0; i < MAX_RUNS; i++)
          if (runs[i].used && !runs[i].reaped && runs[i].pid == pid) {
            runs[i].reaped = 1;
            runs[i].status = st;
            /*
             * The run is over once its own process is: what it wrote is in its pipes now, and anything
             * it started (which could hold them open forever) goes with its process group.
             */
            kill(-pid, SIGKILL);
            if (runs[i].out >= 0) pump(&runs[i], &runs[i].out, 'O');
            if (runs[i].err >= 0) pump(&runs[i], &runs[i].err, 'E');
            close_pipes(&runs[i]);
            finish_if_done(&runs[i]);
          }
      }
    }
    if (fds[0].revents) {
      unsigned char h[9];
      if (read_full(requests, h, 9) < 0) kill_all_and_exit();
      uint32_t id, len;
      memcpy(&id, h + 1, 4);
      memcpy(&len, h + 5, 4);
      if (len > MAX_REQUEST) {
        /* refused, not fatal: the server and the other runs go on */
        static char sink[65536];
        for (uint32_t left = len; left > 0;) {
          uint32_t n = left < sizeof sink ? left : (uint32_t)sizeof sink;
          if (read_full(requests, sink, n) < 0) kill_all_and_exit();
          left -= n;
        }
        explicit_bzero(sink, sizeof sink);
        refuse(id, E2BIG);
        continue;
      }
      if (len && read_full(requests, payload, len) < 0) kill_all_and_exit();
      payload[len] = 0;
      if (h[0] == 'R') {
        int argc = 0;
        /* argv: at least one string, each NUL-terminated */
        if (len == 0 || payload[len - 1] != 0) refuse(id, EINVAL);
        else {
          for (uint32_t i = 0; i < len; i++)
            if (!payload[i]) argc++;
          start_run(id, payload, argc, &orig);
        }
      } else if (h[0] == 'K') {
        for (int i = 0; i < MAX_RUNS; i++)
          if (runs[i].used && runs[i].id == id && !runs[i].reaped) kill_run(&runs[i]);
      }
      explicit_bzero(payload, len + 1);
    }
  }
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
                      void *stack_end) {
  start_fn real_start = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  if (!real_start) _exit(127);
  const char *on = getenv("OMNIAFFECT_FORKSERVER");
  if (!on || strcmp(on, "1") != 0) return real_start(main, argc, argv, init, fini, rtld_fini, stack_end);
  unsetenv("OMNIAFFECT_FORKSERVER");
  unsetenv("LD_PRELOAD");
  real_main = main;
  return real_start(serve, argc, argv, init, fini, rtld_fini, stack_end);
}

/*
 * A run's exit: flush stdio (ffprobe prints through it) and end the process without running the
 * destructors of the ~215 loaded libraries, which cost a run more CPU than the fork. ffmpeg and ffprobe
 * close their outputs themselves before they call exit (ffmpeg_cleanup, uninit_opts), and nothing a
 * destructor does outlives the process. The server itself exits the normal way.
 */
void exit(int status) {
  if (in_run) {
    fflush(NULL);
    _exit(status);
  }
  void (*real_exit)(int) = (void (*)(int))dlsym(RTLD_NEXT, "exit");
  real_exit(status);
  _exit(status);
}
