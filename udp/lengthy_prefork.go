package udp

import (
	"errors"
	"fmt"
	"os/exec"
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
// forks. Both ignore SIGINT and SIGTERM and die with the server.
//
// StopLengthy shuts the shared socket down for reading, which wakes every
// worker's recvfrom (C's signal handler makes the same shutdown): each
// finishes its request in progress and exits, and ServePrefork returns
// once they all have.

// ServePrefork starts cfg.Workers workers on fd and returns nil once they
// have all exited after StopLengthy, or an error naming the workers that
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
	var failed []error
	for i, cmd := range workers {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(w, "Worker %d (pid %d): %v\n", i, cmd.Process.Pid, err)
			failed = append(failed, fmt.Errorf("worker %d: %w", i, err))
		}
	}
	return errors.Join(failed...)
}
