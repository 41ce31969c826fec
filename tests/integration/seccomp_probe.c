/* Seccomp probe: calls each syscall with arguments that make the kernel fail fast
 * (or succeed harmlessly) once the filter lets it through, and prints name=errno
 * (0 = success). A filtered call shows the filter's errno instead. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

static void t(const char *name, long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    errno = 0;
    long r = syscall(nr, a0, a1, a2, a3, a4, a5);
    int e = r < 0 ? errno : 0;
    if (r >= 0 && (nr == SYS_socket || nr == SYS_pkey_alloc))
        (void)(nr == SYS_socket ? close((int)r) : syscall(SYS_pkey_free, r));
    printf("%s=%d\n", name, e);
}

#define T(n, ...) t(#n, SYS_##n, __VA_ARGS__)
#define CLONE_FS_ 0x200L
#define CLONE_SIGHAND_ 0x800L
#define CLONE_NEWNS_ 0x20000L
#define CLONE_NEWUSER_ 0x10000000L

int main(void)
{
    T(add_key, 0, 0, 0, 0, 0, 0);
    T(request_key, 0, 0, 0, 0, 0, 0);
    T(keyctl, 0x7fffffff, 0, 0, 0, 0, 0);
    t("create_module", 174, 0, 0, 0, 0, 0, 0);
    t("afs_syscall", 183, 0, 0, 0, 0, 0, 0);
    T(uselib, 0, 0, 0, 0, 0, 0);
    T(kexec_load, 0, 0, 0, 0, 0, 0);
    t("personality_query", SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0);
    t("nr1000", 1000, 0, 0, 0, 0, 0, 0);
    /* clone: invalid flag sets the kernel rejects (EINVAL) before creating anything */
    t("clone_plain", SYS_clone, CLONE_SIGHAND_, 0, 0, 0, 0, 0);
    t("clone_newns", SYS_clone, CLONE_NEWNS_ | CLONE_FS_, 0, 0, 0, 0, 0);
    t("clone_newuser", SYS_clone, CLONE_NEWUSER_ | CLONE_FS_, 0, 0, 0, 0, 0);
    t("clone3", 435, 0, 0, 0, 0, 0, 0);
    T(unshare, 0, 0, 0, 0, 0, 0);
    T(setns, -1, 0, 0, 0, 0, 0);
    T(mount, 0, 0, 0, 0, 0, 0);
    T(umount2, 0, 0, 0, 0, 0, 0);
    T(pivot_root, 0, 0, 0, 0, 0, 0);
    t("fsopen", 430, 0, 0, 0, 0, 0, 0);
    t("fsmount", 432, -1, 0, 0, 0, 0, 0);
    t("open_tree", 428, -1, 0, 0, 0, 0, 0);
    t("move_mount", 429, -1, 0, -1, 0, 0, 0);
    t("mount_setattr", 442, -1, 0, 0, 0, 0, 0);
    T(sethostname, 0, -1, 0, 0, 0, 0);
    T(setdomainname, 0, -1, 0, 0, 0, 0);
    T(syslog, 0, 0, 0, 0, 0, 0);
    T(bpf, -1, 0, 0, 0, 0, 0);
    T(perf_event_open, 0, 0, -1, -1, 0, 0);
    T(fanotify_init, 0xffffffffL, 0, 0, 0, 0, 0);
    T(quotactl, 0, 0, 0, 0, 0, 0);
    t("quotactl_fd", 443, -1, 0, 0, 0, 0, 0);
    T(name_to_handle_at, -1, 0, 0, 0, 0, 0);
    T(open_by_handle_at, -1, 0, 0, 0, 0, 0);
    T(reboot, 0, 0, 0, 0, 0, 0);
    T(mbind, 0, 0, 0, 0, 0, 0);
    T(get_mempolicy, 0, 0, 0, 0, 0, 0);
    T(set_mempolicy, 0, 0, 0, 0, 0, 0);
    t("pidfd_getfd", 438, -1, -1, 0, 0, 0, 0);
    T(process_vm_readv, 0, 0, 0, 0, 0, 0);
    T(kcmp, 0, 0, -1, 0, 0, 0);
    T(ptrace, 0xffff, 0, 0, 0, 0, 0);
    T(chroot, 0, 0, 0, 0, 0, 0);
    T(vmsplice, -1, 0, 0, 0, 0, 0);
    T(io_pgetevents, 0, 0, 0, 0, 0, 0);
    t("futex_waitv", 449, 0, 0, 0, 0, 0, 0);
    T(io_uring_setup, 0, 0, 0, 0, 0, 0);
    T(userfaultfd, -1, 0, 0, 0, 0, 0);
    T(pkey_alloc, 0, 0, 0, 0, 0, 0);
    T(iopl, 0, 0, 0, 0, 0, 0);
    T(clock_settime, 0, 0, 0, 0, 0, 0);
    t("socket_netlink_audit", SYS_socket, 16, 3, 9, 0, 0, 0);
    t("fchmodat2", 452, -1, 0, 0, 0, 0, 0);
    t("mseal", 462, 0, 0, 0, 0, 0, 0);
    t("personality_ffff", SYS_personality, 0xffff, 0, 0, 0, 0, 0);
    syscall(SYS_personality, 0L);
    return 0;
}
