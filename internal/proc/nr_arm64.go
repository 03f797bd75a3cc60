package proc

import "golang.org/x/sys/unix"

// legacySyscalls: arm64 follows asm-generic/unistd.h, which keeps accept
// but has only ppoll, pselect6 and epoll_pwait for the others.
var legacySyscalls = map[string]int{"accept": unix.SYS_ACCEPT}
