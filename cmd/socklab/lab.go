package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/socklab/socklab/internal/lab"
)

func runLab(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lab", "[flags]",
		"Runs the tutorial's programs side by side on ephemeral loopback ports and shows\n"+
			"what each says and which system calls it makes (with strace, when installed).\n"+
			"Now: the UDP echo pair of sections 3 to 5, raw and net.",
		[]string{"socklab lab", "socklab lab --word 'hello world'"}, stdout)
	word := fs.String("word", "hello", "what the clients send")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on each request and each traced run")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	if *timeout == 0 {
		return usagef("invalid --timeout 0: the lab bounds every run; give a positive duration")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the socklab binary to trace: %w", err)
	}
	return lab.Echo(stdout, lab.EchoConfig{Self: self, Word: *word, Timeout: *timeout})
}
