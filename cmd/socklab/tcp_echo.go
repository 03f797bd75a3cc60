package main

import (
	"errors"
	"io"
)

func runTCPEchoServer(args []string, stdout, stderr io.Writer) error {
	return errors.New("tcp-echo-server: not built yet")
}

func runTCPEchoClient(args []string, stdout, stderr io.Writer) error {
	return errors.New("tcp-echo-client: not built yet")
}

func runTCPSlowClient(args []string, stdout, stderr io.Writer) error {
	return errors.New("tcp-slow-client: not built yet")
}
