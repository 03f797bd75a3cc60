package udp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Fork-exec lengthy-action server, the Go mirror of
// testdata/lengthy_forkexec.c: the idiomatic Go way to hand a request to
// another process. Go cannot run arbitrary code in a forked child (see
// lengthy_fork.go), so it starts a new program instead: this one, again,
// with the socket as the child's fd 3 and the role and the request in its
// arguments (ChildArgs):
//
//	socket -> bind -> loop { recvfrom -> report -> clone(CLONE_VM|CLONE_VFORK) + execve(self)
//	                         child: sleep -> toupper -> sendto(fd 3) -> exit }
//
// strace shows what the exec costs: an execve and a whole Go runtime start
// per request. Differences from the C twin, from Go itself (os/exec):
//   - the child is made by clone(CLONE_VM|CLONE_VFORK), where C forks, and
//     reports a failed execve through a close-on-exec pipe; the first Start
//     also clones a child that exits at once, to learn whether clone takes
//     CLONE_PIDFD;
//   - ExtraFiles takes an *os.File: a close-on-exec duplicate of the
//     socket (fcntl F_DUPFD_CLOEXEC), made once and closed at the end,
//     which the child moves to fd 3 with dup3 (C's dup2 finds its socket
//     there already);
//   - each child is waited for by a goroutine (exec.Cmd.Wait, through a
//     pidfd), where C reaps on SIGCHLD;
//   - the loop ends when recvfrom returns no datagram from no sender
//     (Stop), where C's ends on EINTR.
//
// The program chooses the role: its first argument after Command is
// RoleChild or RoleWorker, which no usage text lists; it parses the rest
// with ParseChildArgs or ParseWorkerArgs and calls ServeRequest or
// ServeIterative on ChildFD.

// The roles of a re-exec'd child: the first argument after Command.
const (
	RoleChild  = "udp-lengthy-child"  // fork-exec: DELAY IP:PORT MESSAGE (in hex); ServeRequest
	RoleWorker = "udp-lengthy-worker" // prefork: DELAY BUFSIZE quiet|verbose; ServeIterative
)

// ChildFD is the descriptor on which a re-exec'd child finds the server's
// socket: the first entry of ExtraFiles.
const ChildFD = 3

// ServeForkExec serves each request on fd in a new process running
// cfg.Command with the child role, until Stop is called on fd; it
// returns nil once every child has exited. It does not close fd.
func ServeForkExec(fd int, cfg LengthyConfig) error {
	if len(cfg.Command) == 0 {
		return errors.New("fork-exec: LengthyConfig.Command names no program to run")
	}
	sock, err := socketFile(fd)
	if err != nil {
		return err
	}
	defer sock.Close()
	w := &lockedWriter{w: cfg.log()}
	log := newReport(w, cfg)
	defer log.guard.flush()
	buffer := make([]byte, cfg.bufSize())
	var client sys.SockaddrIn
	bound := cfg.maxChildren()
	live := make(chan struct{}, bound)
	var wg sync.WaitGroup
	defer wg.Wait() // the children in progress finish
	for !cfg.stopping() {
		clientlen := sys.SizeofSockaddrIn
		received, err := sys.Recvfrom(fd, buffer, unix.MSG_TRUNC, &client, &clientlen)
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if received == 0 && clientlen == 0 {
			return nil // Stop: no datagram, no sender
		}
		if received > len(buffer) {
			log.truncated(&client, received, len(buffer))
			continue
		}
		if log.guard.refuses(client.Addr, client.PortOf()) {
			continue // the loop guard (guard.go)
		}
		log.connected(&client)
		select {
		case live <- struct{}{}:
		default:
			log.dropped(&client, len(live), bound)
			continue
		}
		cmd := childCommand(cfg, sock, w, ChildArgs(cfg.Delay, &client, buffer[:received]))
		if err := cmd.Start(); err != nil { // clone + execve
			<-live
			fmt.Fprintf(w, "Failed to start a child for %s: %v\n", client.String(), err)
			continue
		}
		wg.Go(func() { // waitpid
			defer func() { <-live }()
			if err := cmd.Wait(); err != nil {
				fmt.Fprintf(w, "Child %d: %v\n", cmd.Process.Pid, err)
			}
		})
	}
	return nil // Done
}

// socketFile returns a close-on-exec duplicate of fd as an *os.File, for
// ExtraFiles; os/exec moves it to the child's fd 3 without close-on-exec.
// A duplicate, because an *os.File closes its descriptor when it is
// closed or collected, and fd stays the caller's.
func socketFile(fd int) (*os.File, error) {
	dup, err := sys.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("Failed to duplicate the socket: %w", err)
	}
	return os.NewFile(uintptr(dup), "udp-socket"), nil
}

// childCommand prepares cfg.Command with the role's arguments: the socket
// as fd 3, stderr the server's log, and SIGKILL should the server die
// first.
func childCommand(cfg LengthyConfig, sock *os.File, w io.Writer, role []string) *exec.Cmd {
	argv := append(append([]string(nil), cfg.Command...), role...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{sock}
	cmd.Stderr = w
	if f, ok := cfg.Log.(*os.File); ok {
		cmd.Stderr = f // no pipe and copying goroutine
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// ChildArgs returns the arguments after Command that make a fork-exec
// child answer one request: RoleChild DELAY IP:PORT MESSAGE.
func ChildArgs(delay time.Duration, client *sys.SockaddrIn, request []byte) []string {
	return []string{RoleChild, delay.String(), client.String(), hex.EncodeToString(request)}
}

// ParseChildArgs reads the arguments after RoleChild.
func ParseChildArgs(args []string) (delay time.Duration, client sys.SockaddrIn, request []byte, err error) {
	if len(args) != 3 {
		return 0, client, nil, fmt.Errorf("want DELAY IP:PORT MESSAGE, got %d arguments", len(args))
	}
	if delay, err = parseDelay(args[0]); err != nil {
		return 0, client, nil, err
	}
	ip, port, _ := strings.Cut(args[1], ":")
	addr, err := sys.InetAddr(ip)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 1 || p > 65535 {
		return 0, client, nil, fmt.Errorf("client %q: want a dotted quad and a port, 127.0.0.1:7777", args[1])
	}
	if request, err = hex.DecodeString(args[2]); err != nil || len(request) > MaxBufSize {
		return 0, client, nil, fmt.Errorf("message %q: want up to %d bytes in hex", args[2], MaxBufSize)
	}
	return delay, sys.NewSockaddrIn(addr, p), request, nil
}

// WorkerArgs returns the arguments after Command that make a prefork
// worker: RoleWorker DELAY BUFSIZE quiet|verbose PORT RATE|off, the last
// two the loop guard's (LoopGuard).
func WorkerArgs(cfg LengthyConfig) []string {
	quiet := "verbose"
	if cfg.Quiet {
		quiet = "quiet"
	}
	rate := strconv.Itoa(cfg.Guard.Rate)
	if cfg.Guard.Off {
		rate = "off"
	}
	return []string{RoleWorker, cfg.Delay.String(), strconv.Itoa(cfg.bufSize()), quiet, strconv.Itoa(cfg.Guard.Port), rate}
}

// ParseWorkerArgs reads the arguments after RoleWorker into the
// configuration of the worker's ServeIterative; Log is left to the caller.
func ParseWorkerArgs(args []string) (LengthyConfig, error) {
	var cfg LengthyConfig
	if len(args) != 5 {
		return cfg, fmt.Errorf("want DELAY BUFSIZE quiet|verbose PORT RATE|off, got %d arguments", len(args))
	}
	delay, err := parseDelay(args[0])
	if err != nil {
		return cfg, err
	}
	bufsize, err := strconv.Atoi(args[1])
	if err != nil || bufsize < 1 || bufsize > MaxBufSize {
		return cfg, fmt.Errorf("buffer size %q: want 1 to %d", args[1], MaxBufSize)
	}
	if args[2] != "quiet" && args[2] != "verbose" {
		return cfg, fmt.Errorf("%q: want quiet or verbose", args[2])
	}
	port, err := strconv.Atoi(args[3])
	if err != nil || port < 0 || port > 65535 {
		return cfg, fmt.Errorf("port %q: want 0 to 65535", args[3])
	}
	guard := LoopGuard{Port: port, Off: args[4] == "off"}
	if !guard.Off {
		if guard.Rate, err = strconv.Atoi(args[4]); err != nil || guard.Rate < 0 || guard.Rate > MaxRate {
			return cfg, fmt.Errorf("rate %q: want off or 0 to %d", args[4], MaxRate)
		}
	}
	return LengthyConfig{Delay: delay, BufSize: bufsize, Quiet: args[2] == "quiet", Guard: guard}, nil
}

func parseDelay(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("delay %q: want a duration such as 5s", s)
	}
	return d, nil
}

// ServeRequest is a fork-exec child's lengthy_action on fd: sleep, then
// reply to client with request upper-cased. A failed or short sendto is
// returned.
func ServeRequest(fd int, request []byte, client *sys.SockaddrIn, delay time.Duration) error {
	time.Sleep(delay)
	return reply(fd, request, client, io.Discard)
}
