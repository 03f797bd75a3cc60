package main

import (
	"errors"
	"io"
)

func runUDPLengthyServer(args []string, stdout, stderr io.Writer) error {
	return errors.New("udp-lengthy-server: not built yet")
}

func runUDPStressClient(args []string, stdout, stderr io.Writer) error {
	return errors.New("udp-stress-client: not built yet")
}
