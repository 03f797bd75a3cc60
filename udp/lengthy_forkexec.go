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

// Fork-exec lengthy-action server: the idiomatic Go way to hand a request
// to another process. Go cannot run arbitrary code in a forked child (see
// lengthy_fork.go), so it starts a new program instead: this one, again,
// through os/exec, with the socket as the child's fd 3 (ExtraFiles) and
// the request in its environment:
//
//	socket -> bind -> loop { recvfrom -> report -> clone(CLONE_VM|CLONE_VFORK) + execve(self)
//	                         child: sleep -> toupper -> sendto(fd 3) -> exit }
//
// No C twin: a C program forks and goes on, as lengthy_fork.c does. strace
// shows what the exec costs: an execve and a whole Go runtime start per
// request. Each child is waited for by a goroutine (exec.Cmd.Wait), which
// is how Go reaps; there is no SIGCHLD handler.
//
// The child role is chosen by the environment (RoleEnv), not by a command
// line flag, so it stays out of the program's usage text; RunChildRole
// plays it.

// Environment of a re-exec'd child.
const (
	RoleEnv    = "SOCKLAB_LENGTHY_ROLE"    // "child" (fork-exec: one request) or "worker" (prefork)
	clientEnv  = "SOCKLAB_LENGTHY_CLIENT"  // child: where to reply, ip:port
	messageEnv = "SOCKLAB_LENGTHY_MESSAGE" // child: the request, in hex
	delayEnv   = "SOCKLAB_LENGTHY_DELAY"   // the delay, as time.Duration prints it
	bufSizeEnv = "SOCKLAB_LENGTHY_BUFSIZE" // worker: the receive buffer
	quietEnv   = "SOCKLAB_LENGTHY_QUIET"   // worker: "1" for no "Client connected" lines
)

// ChildFD is the descriptor on which a re-exec'd child finds the server's
// socket: the first entry of ExtraFiles.
const ChildFD = 3

// ServeForkExec serves each request on fd in a new process running
// cfg.Command with the child role, until StopLengthy is called on fd; it
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
	log := newReport(w, cfg.Quiet)
	buffer := make([]byte, cfg.bufSize())
	var client sys.SockaddrIn
	bound := cfg.maxChildren()
	live := make(chan struct{}, bound)
	var wg sync.WaitGroup
	defer wg.Wait() // the children in progress finish
	for {
		clientlen := sys.SizeofSockaddrIn
		received, err := sys.Recvfrom(fd, buffer, unix.MSG_TRUNC, &client, &clientlen)
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if received == 0 && clientlen == 0 {
			return nil // StopLengthy: no datagram, no sender
		}
		if received > len(buffer) {
			log.truncated(&client, received, len(buffer))
			continue
		}
		log.connected(&client)
		select {
		case live <- struct{}{}:
		default:
			log.dropped(&client, len(live), bound)
			continue
		}
		cmd := childCommand(cfg, sock, w, RoleEnv+"=child",
			clientEnv+"="+client.String(), messageEnv+"="+hex.EncodeToString(buffer[:received]))
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

// childCommand prepares cfg.Command in a child role: the socket as fd 3,
// stderr the server's log, the role and its facts in the environment, and
// SIGKILL should the server die first.
func childCommand(cfg LengthyConfig, sock *os.File, w io.Writer, env ...string) *exec.Cmd {
	cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), delayEnv+"="+cfg.Delay.String())
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = []*os.File{sock}
	cmd.Stderr = w
	if f, ok := cfg.Log.(*os.File); ok {
		cmd.Stderr = f // no pipe and copying goroutine
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// RunChildRole plays the role that the environment gives a program
// re-exec'd by ServeForkExec or ServePrefork, on the socket at ChildFD:
// "child" answers the one request it was given, "worker" serves requests
// one at a time (ServeIterative) until the socket is shut down. It reports
// whether RoleEnv was set at all; a program calls it first thing.
func RunChildRole(log io.Writer) (bool, error) {
	role := os.Getenv(RoleEnv)
	if role == "" {
		return false, nil
	}
	delay, err := time.ParseDuration(os.Getenv(delayEnv))
	if err != nil {
		return true, fmt.Errorf("%s: %w", delayEnv, err)
	}
	switch role {
	case "child":
		return true, answerOne(delay, log)
	case "worker":
		bufsize, _ := strconv.Atoi(os.Getenv(bufSizeEnv))
		cfg := LengthyConfig{Delay: delay, BufSize: bufsize, Quiet: os.Getenv(quietEnv) == "1", Log: log}
		return true, ServeIterative(ChildFD, cfg)
	}
	return true, fmt.Errorf("%s=%q: want child or worker", RoleEnv, role)
}

// answerOne is the fork-exec child: lengthy_action on the request it was
// given.
func answerOne(delay time.Duration, log io.Writer) error {
	msg, err := hex.DecodeString(os.Getenv(messageEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", messageEnv, err)
	}
	ip, port, ok := strings.Cut(os.Getenv(clientEnv), ":")
	addr, err := sys.InetAddr(ip)
	p, perr := strconv.Atoi(port)
	if !ok || err != nil || perr != nil {
		return fmt.Errorf("%s=%q: want ip:port", clientEnv, os.Getenv(clientEnv))
	}
	client := sys.NewSockaddrIn(addr, p)
	time.Sleep(delay)
	return reply(ChildFD, msg, &client, io.Discard)
}
