package proc

import "golang.org/x/sys/unix"

// legacySyscalls are the blocking calls amd64 keeps beside their newer
// forms (arch/x86/entry/syscalls/syscall_64.tbl).
var legacySyscalls = map[string]int{
	"accept": unix.SYS_ACCEPT, "poll": unix.SYS_POLL, "select": unix.SYS_SELECT, "epoll_wait": unix.SYS_EPOLL_WAIT,
}
