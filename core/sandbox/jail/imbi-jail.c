/*
 * imbi-jail: the confinement wrapper every plugin process starts through
 * (docs/sandbox.md, "Confinement"). It is started by the service in place of
 * `deno`, and:
 *
 *   1. puts the plugin into its own cgroup (v1: memory, pids, cpu) with the
 *      limits it was given, or, where no cgroup is writable, caps its private
 *      writable memory with RLIMIT_DATA;
 *   2. forks; the child joins the cgroups BEFORE it execs deno (race-free),
 *      sets PR_SET_PDEATHSIG=SIGKILL (dies with the jail, even when stopped),
 *      drops every capability (an empty bounding set, so root keeps none
 *      across exec), PR_SET_NO_NEW_PRIVS, and a seccomp filter that answers EPERM to
 *      listen(2) and bind(2) (no listening socket of any kind), then execs;
 *   3. stays as a small reaper: it dies with the service (PDEATHSIG), kills a
 *      plugin that wants CPU (runs, or waits to run) while the service says no call is in flight
 *      (the service sends SIGWINCH as a heartbeat while calls are in flight),
 *      names the plugin's pid in the first line of stderr ("imbi-jail: plugin pid N"),
 *      removes the cgroups when the plugin ends, and ends the way the plugin
 *      did (its exit code, or the same signal), or with a code >= 200 that
 *      says which limit ended it (see EXIT_* below).
 *
 * Usage:
 *   imbi-jail --probe [--cgroup-root DIR]
 *   imbi-jail [--cgroup-root DIR] [--cgroup] [--memory-mb N] [--pids N] [--cpu-percent N]
 *             [--data-mb N] [--idle-cpu-ms N] [--idle-window-ms N] -- PROGRAM ARGS...
 *
 * Build: cc -O2 -Wall -Wextra -o imbi-jail imbi-jail.c   (Linux only)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit codes of the jail's verdicts; a plugin's own exit code of 200 or more is reported as 199. */
#define EXIT_MEMORY 201   /* the memory cgroup's OOM killer ended the plugin */
#define EXIT_IDLE_CPU 202 /* the jail killed the plugin for burning CPU with no call in flight */
#define EXIT_PIDS 203     /* the plugin died after hitting pids.max */
#define EXIT_SETUP 125    /* the jail could not confine the plugin; nothing ran */
#define EXIT_EXEC 127     /* the program could not be executed */

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "imbi-jail's seccomp filter reads the low word of a syscall argument first (little-endian)"
#endif
#if defined(__x86_64__)
#define JAIL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define JAIL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "imbi-jail supports x86_64 and aarch64"
#endif

#define TICK_MS 100
#define BUSY_HOLD_MS 1500 /* a heartbeat keeps the plugin "busy" this long */
#define MAX_WINDOW_TICKS 600

static const char *controllers[] = {"memory", "pids", "cpu"};
#define N_CONTROLLERS 3

struct options {
  const char *cgroup_root;
  int cgroup;
  long memory_mb, pids, cpu_percent, data_mb, idle_cpu_ms, idle_window_ms;
  char **argv;
};

static char cgroup_dirs[N_CONTROLLERS][4096];

static void die(int code, const char *what) {
  fprintf(stderr, "imbi-jail: %s: %s\n", what, strerror(errno));
  exit(code);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int write_file(const char *dir, const char *name, const char *value) {
  char path[4352];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, value, strlen(value));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Reads "<key> <number>" from a cgroup file such as memory.oom_control or pids.events (key "": a file holding one
 * number); -1 when absent. */
static long read_keyed(const char *dir, const char *name, const char *key) {
  char path[4352], line[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  long value = -1;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (klen == 0) value = atol(line);
    else if (strncmp(line, key, klen) == 0 && line[klen] == ' ') value = atol(line + klen + 1);
  }
  fclose(f);
  return value;
}

/* This process's cgroup path in the v1 hierarchy holding `controller`, from /proc/self/cgroup. */
static int own_cgroup(const char *controller, char *out, size_t size) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return -1;
  char line[4096];
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, f)) {
    char *list = strchr(line, ':');
    char *path = list ? strchr(list + 1, ':') : NULL;
    if (!path) continue;
    *path++ = '\0';
    path[strcspn(path, "\n")] = '\0';
    for (char *name = strtok(list + 1, ","); name; name = strtok(NULL, ",")) {
      if (strcmp(name, controller) == 0) {
        snprintf(out, size, "%s", strcmp(path, "/") == 0 ? "" : path);
        found = 0;
        break;
      }
    }
  }
  fclose(f);
  return found;
}

/* Removes the empty cgroups of plugin jails that no longer run (a SIGKILLed jail cannot clean up). */
static void remove_stale(const char *parent) {
  DIR *dir = opendir(parent);
  if (!dir) return;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", parent, entry->d_name);
    rmdir(path); /* fails harmlessly while a process is still inside */
  }
  closedir(dir);
}

/*
 * Creates <root>/<controller><own path>/imbi-plugins/<name> for each controller and writes the limits.
 * Returns 0, or -1 with errno and *what set.
 */
static int make_cgroups(const struct options *o, const char *name, const char **what) {
  for (int i = 0; i < N_CONTROLLERS; i++) {
    char own[2048], parent[3072];
    *what = controllers[i];
    if (i == 2 && o->cpu_percent <= 0) continue; /* no quota: the plugin stays in the service's cpu cgroup */
    if (own_cgroup(controllers[i], own, sizeof own) < 0) {
      errno = ENOENT;
      return -1;
    }
    snprintf(parent, sizeof parent, "%s/%s%s/imbi-plugins", o->cgroup_root, controllers[i], own);
    if (mkdir(parent, 0755) < 0 && errno != EEXIST) return -1;
    remove_stale(parent);
    snprintf(cgroup_dirs[i], sizeof cgroup_dirs[i], "%s/%s", parent, name);
    if (mkdir(cgroup_dirs[i], 0755) < 0 && errno != EEXIST) {
      cgroup_dirs[i][0] = '\0';
      return -1;
    }
  }
  char value[64];
  const char *memory = cgroup_dirs[0], *pids = cgroup_dirs[1], *cpu = cgroup_dirs[2];
  if (o->memory_mb > 0) {
    snprintf(value, sizeof value, "%ld", o->memory_mb * 1024L * 1024L);
    *what = "memory.limit_in_bytes";
    if (write_file(memory, "memory.limit_in_bytes", value) < 0) return -1;
    /* Without swap accounting these files are absent; with it, swap must not extend the cap. */
    write_file(memory, "memory.memsw.limit_in_bytes", value);
    write_file(memory, "memory.swappiness", "0");
  }
  if (o->pids > 0) {
    snprintf(value, sizeof value, "%ld", o->pids);
    *what = "pids.max";
    if (write_file(pids, "pids.max", value) < 0) return -1;
  }
  if (o->cpu_percent > 0) {
    *what = "cpu.cfs_quota_us";
    if (write_file(cpu, "cpu.cfs_period_us", "100000") < 0) return -1;
    snprintf(value, sizeof value, "%ld", o->cpu_percent * 1000L);
    if (write_file(cpu, "cpu.cfs_quota_us", value) < 0) return -1;
  }
  return 0;
}

static void remove_cgroups(void) {
  for (int i = 0; i < N_CONTROLLERS; i++) {
    if (!cgroup_dirs[i][0]) continue;
    /* The kernel may take a moment to empty the group after the last task exits. */
    for (int tries = 0; tries < 50 && rmdir(cgroup_dirs[i]) < 0 && errno == EBUSY; tries++) usleep(2000);
  }
}

/* Ends the jail by the signal that ended the plugin, so the service sees the same status as without the jail. */
static void die_like(int sig) {
  struct rlimit core = {0, 0};
  setrlimit(RLIMIT_CORE, &core);
  signal(sig, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  sigprocmask(SIG_UNBLOCK, &only, NULL);
  raise(sig);
  exit(128 + sig); /* a signal whose default is to continue or be ignored */
}

static int join_cgroups(void) {
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  for (int i = 0; i < N_CONTROLLERS; i++) {
    if (cgroup_dirs[i][0] && write_file(cgroup_dirs[i], "cgroup.procs", pid) < 0) return -1;
  }
  return 0;
}

/* No capabilities survive the exec, even for root: empty bounding set, no ambient ones. */
static int drop_capabilities(void) {
  for (int cap = 0; cap <= 63; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM) return -1;
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return 0;
}

/* EPERM for listen(2) and bind(2) but a netlink bind (no socket can accept or receive on an address of its choosing),
 * ENOSYS for io_uring_setup (no side door around the filter), and death for a foreign ABI (x32, i386). */
static int install_seccomp(void) {
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, JAIL_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_listen, 4, 0),        /* -> EPERM */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 4, 0), /* -> ENOSYS */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bind, 0, 4),          /* not bind -> ALLOW */
    /* bind: only a 12-byte address, a netlink one (glibc's getaddrinfo asks the kernel for its addresses that way);
     * IPv4 (16), IPv6 (28) and the rest get EPERM. Little-endian: the low word of args[2] comes first. */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 2 * sizeof(__u64)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sizeof(struct sockaddr_nl), 2, 0), /* -> ALLOW */
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/*
 * CPU demand of a process, ms: the time its threads ran plus the time they waited, runnable, for a CPU
 * (/proc/<pid>/task/<tid>/schedstat). A spinning thread demands the whole wall time however busy the machine
 * is, where its CPU time alone would shrink with its share. -1 when the process is gone.
 */
static long demand_ms(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *dir = opendir(path);
  if (!dir) return -1;
  unsigned long long total = 0;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (entry->d_name[0] == '.') continue;
    char file[384], buf[128];
    snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat", (int)pid, entry->d_name);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue; /* the thread ended */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    unsigned long long run = 0, wait = 0;
    if (sscanf(buf, "%llu %llu", &run, &wait) == 2) total += run + wait;
  }
  closedir(dir);
  return (long)(total / 1000000ULL);
}

/* Can seccomp refuse listen(2) here? Tried in a throw-away child. */
static int probe_seccomp(void) {
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    if (install_seccomp() < 0) _exit(2);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) _exit(3);
    errno = 0;
    _exit(listen(fd, 1) < 0 && errno == EPERM ? 0 : 4);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) return 0;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int probe(const struct options *o) {
  char name[64];
  const char *what = "";
  snprintf(name, sizeof name, "probe-%d", (int)getpid());
  struct options limits = *o;
  limits.memory_mb = 64;
  limits.pids = 64;
  limits.cpu_percent = 100;
  int cgroup_ok = make_cgroups(&limits, name, &what) == 0;
  int saved = errno;
  remove_cgroups();
  struct rlimit rl;
  int rlimit_ok = getrlimit(RLIMIT_DATA, &rl) == 0;
  printf("{\"version\":1,\"cgroup\":%s,\"cgroup_error\":\"%s%s%s\",\"rlimit_data\":%s,\"seccomp\":%s,"
         "\"pdeathsig\":true}\n",
         cgroup_ok ? "\"v1\"" : "null", cgroup_ok ? "" : what, cgroup_ok ? "" : ": ",
         cgroup_ok ? "" : strerror(saved), rlimit_ok ? "true" : "false", probe_seccomp() ? "true" : "false");
  return 0;
}

static long number(const char *flag, const char *value) {
  char *end;
  errno = 0;
  long n = value ? strtol(value, &end, 10) : -1;
  if (!value || errno || *end || n < 0) {
    fprintf(stderr, "imbi-jail: %s needs a non-negative integer\n", flag);
    exit(EXIT_SETUP);
  }
  return n;
}

/* The options that take a non-negative integer, and the field each one sets. */
static const struct {
  const char *flag;
  size_t offset;
} number_options[] = {
    {"--memory-mb", offsetof(struct options, memory_mb)},
    {"--pids", offsetof(struct options, pids)},
    {"--cpu-percent", offsetof(struct options, cpu_percent)},
    {"--data-mb", offsetof(struct options, data_mb)},
    {"--idle-cpu-ms", offsetof(struct options, idle_cpu_ms)},
    {"--idle-window-ms", offsetof(struct options, idle_window_ms)},
};

/* The field of o that the integer option flag sets, or NULL for another flag. */
static long *number_field(struct options *o, const char *flag) {
  for (size_t i = 0; i < sizeof number_options / sizeof number_options[0]; i++) {
    if (strcmp(flag, number_options[i].flag) == 0) return (long *)((char *)o + number_options[i].offset);
  }
  return NULL;
}

static void parse(int argc, char **argv, struct options *o, int *probe_only) {
  long *field;
  o->cgroup_root = "/sys/fs/cgroup";
  o->idle_window_ms = 5000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      o->argv = argv + i + 1;
      if (!o->argv[0]) break;
      return;
    } else if (strcmp(a, "--probe") == 0) {
      *probe_only = 1;
      continue;
    } else if (strcmp(a, "--cgroup") == 0) {
      o->cgroup = 1;
      continue;
    } else if (strcmp(a, "--cgroup-root") == 0 && v) {
      o->cgroup_root = v;
    } else if ((field = number_field(o, a))) {
      *field = number(a, v);
    } else {
      fprintf(stderr, "imbi-jail: unknown or incomplete option %s\n", a);
      exit(EXIT_SETUP);
    }
    i++;
  }
  if (!*probe_only) {
    fprintf(stderr, "imbi-jail: no program after --\n");
    exit(EXIT_SETUP);
  }
}

int main(int argc, char **argv) {
  pid_t service = getppid();
  /* Die with the service; a service already gone leaves nothing to serve. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die(EXIT_SETUP, "PR_SET_PDEATHSIG");
  if (getppid() != service) return EXIT_SETUP;
  struct options o = {0};
  int probe_only = 0;
  parse(argc, argv, &o, &probe_only);
  if (probe_only) return probe(&o);

  sigset_t mask, old;
  sigemptyset(&mask);
  int handled[] = {SIGCHLD, SIGWINCH, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) sigaddset(&mask, handled[i]);
  sigprocmask(SIG_BLOCK, &mask, &old);

  if (o.cgroup) {
    char name[32];
    const char *what = "";
    snprintf(name, sizeof name, "%d", (int)getpid());
    if (make_cgroups(&o, name, &what) < 0) {
      int saved = errno;
      remove_cgroups();
      errno = saved;
      die(EXIT_SETUP, what);
    }
  }

  /* The child waits on this pipe until the jail has named it on stderr: that line is always the first. */
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) die(EXIT_SETUP, "pipe");
  pid_t jail = getpid();
  pid_t child = fork();
  if (child < 0) die(EXIT_SETUP, "fork");
  if (child == 0) {
    close(go[1]);
    char byte;
    while (read(go[0], &byte, 1) < 0 && errno == EINTR) continue;
    close(go[0]);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != jail) _exit(EXIT_SETUP);
    if (join_cgroups() < 0) die(EXIT_SETUP, "cgroup.procs");
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    if (o.data_mb > 0) {
      struct rlimit data = {(rlim_t)o.data_mb << 20, (rlim_t)o.data_mb << 20};
      if (setrlimit(RLIMIT_DATA, &data) < 0) die(EXIT_SETUP, "RLIMIT_DATA");
    }
    if (drop_capabilities() < 0) die(EXIT_SETUP, "capabilities");
    if (install_seccomp() < 0) die(EXIT_SETUP, "seccomp");
    sigprocmask(SIG_SETMASK, &old, NULL);
    execv(o.argv[0], o.argv);
    die(EXIT_EXEC, o.argv[0]);
  }

  close(go[0]);
  fprintf(stderr, "imbi-jail: plugin pid %d\n", (int)child);
  fflush(stderr);
  close(go[1]);
  /* The plugin owns the channel: the jail keeps no end of it open (stderr stays, for the jail's own messages). */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDOUT_FILENO);
    close(devnull);
  }
  long idle[MAX_WINDOW_TICKS] = {0};
  int window = (int)(o.idle_window_ms / TICK_MS);
  if (window < 1) window = 1;
  if (window > MAX_WINDOW_TICKS) window = MAX_WINDOW_TICKS;
  long idle_sum = 0, last_cpu = 0, busy_until = now_ms() + BUSY_HOLD_MS;
  int slot = 0, verdict = 0;
  struct timespec tick = {0, TICK_MS * 1000000L};
  for (;;) {
    siginfo_t info;
    int sig = sigtimedwait(&mask, &info, &tick);
    if (sig == SIGWINCH) {
      busy_until = now_ms() + BUSY_HOLD_MS;
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) {
      kill(child, sig);
    } else if (sig == SIGCHLD) {
      int status;
      pid_t done = waitpid(child, &status, WNOHANG);
      if (done == child) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        if (code >= 200) code = 199;
        if (WIFSIGNALED(status) && !verdict && cgroup_dirs[0][0]) {
          long ooms = read_keyed(cgroup_dirs[0], "memory.oom_control", "oom_kill");
          if (ooms > 0 || (ooms < 0 && read_keyed(cgroup_dirs[0], "memory.failcnt", "") > 0)) verdict = EXIT_MEMORY;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          if (!verdict && cgroup_dirs[1][0] && read_keyed(cgroup_dirs[1], "pids.events", "max") > 0) {
            verdict = EXIT_PIDS;
          }
        }
        remove_cgroups();
        if (verdict) return verdict;
        if (WIFSIGNALED(status)) die_like(WTERMSIG(status));
        return code;
      }
    }
    if (sig < 0) {
      long used = demand_ms(child);
      if (used < 0) continue;
      long delta = used > last_cpu ? used - last_cpu : 0; /* an ended thread takes its share with it */
      last_cpu = used;
      if (o.idle_cpu_ms <= 0) continue;
      long spent = now_ms() < busy_until ? 0 : delta;
      idle_sum += spent - idle[slot];
      idle[slot] = spent;
      slot = (slot + 1) % window;
      if (idle_sum > o.idle_cpu_ms && !verdict) {
        fprintf(stderr, "imbi-jail: %ld ms of CPU demand in %ld ms with no call in flight; stopping the plugin\n",
                idle_sum, o.idle_window_ms);
        verdict = EXIT_IDLE_CPU;
        kill(child, SIGKILL);
      }
    }
  }
}
