package udp

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// Preforked lengthy-action server, after Stevens' UNIX Network Programming
// chapter 30, the Go mirror of testdata/lengthy_prefork.c: the server starts Workers processes up front, and each
// blocks in recvfrom on the same inherited socket; the kernel hands each
// datagram to one of them. There is no process creation per request, and
// no more than Workers requests are served at once.
//
//	socket -> bind -> Workers x (clone + execve(self), socket as fd 3)
//	worker: loop { recvfrom -> report -> sleep -> toupper -> sendto }   (ServeIterative)
//
// Difference from the C twin, from Go itself: the workers are this program
// re-exec'd in the worker role (RoleWorker, WorkerArgs) by os/exec, with a
// duplicate of the socket moved to their fd 3, because a Go process cannot
// fork without exec and go on running Go code; C's workers are plain
// forks. Both die with the server.
//
// Stop shuts the shared socket down for reading, which wakes every
// worker's recvfrom (C's signal handler makes the same shutdown), and
// Done is forwarded to every worker as SIGTERM (C's parent forwards its
// signal), which a worker takes, as SIGINT and SIGHUP, for the end of its
// loop: each finishes its request in progress and exits, however many
// datagrams are still queued, and ServePrefork returns once they all
// have. A stop during start-up forks no more workers. A worker signalled
// alone ends its loop too; C's, blocked in recvfrom, at once (EINTR), Go's
// after its next request.

// ServePrefork starts cfg.Workers workers on fd and returns nil once they
// have all exited after Stop, or an error naming the workers that
// failed. It does not close fd.
func ServePrefork(fd int, cfg LengthyConfig) error {
	if len(cfg.Command) == 0 {
		return errors.New("prefork: LengthyConfig.Command names no program to run")
	}
	sock, err := socketFile(fd)
	if err != nil {
		return err
	}
	defer sock.Close()
	w := &lockedWriter{w: cfg.log()}
	workers := make([]*exec.Cmd, 0, cfg.workers())
	for range cfg.workers() {
		if cfg.stopping() {
			break // stopped during start-up: no more workers
		}
		cmd := childCommand(cfg, sock, w, WorkerArgs(cfg))
		if err := cmd.Start(); err != nil {
			for _, started := range workers { // no worker is left behind
				started.Process.Kill()
				started.Wait()
			}
			return fmt.Errorf("Failed to start worker %d: %w", len(workers), err)
		}
		workers = append(workers, cmd)
	}
	// Done reaches the workers as SIGTERM, as C's parent forwards its
	// signal: each ends after its request in progress.
	waited := make(chan struct{})
	defer close(waited)
	go func() {
		select {
		case <-cfg.Done:
			for _, cmd := range workers {
				cmd.Process.Signal(syscall.SIGTERM)
			}
		case <-waited:
		}
	}()
	var failed []error
	for i, cmd := range workers {
		if err := cmd.Wait(); err != nil {
			if cfg.stopping() && killedBy(cmd, syscall.SIGTERM) {
				continue // told to stop before it had caught the signal: it served nothing
			}
			fmt.Fprintf(w, "Worker %d (pid %d): %v\n", i, cmd.Process.Pid, err)
			failed = append(failed, fmt.Errorf("worker %d: %w", i, err))
		}
	}
	return errors.Join(failed...)
}

// killedBy reports whether the waited cmd died of sig.
func killedBy(cmd *exec.Cmd, sig syscall.Signal) bool {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
