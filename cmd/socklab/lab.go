package main

import (
	"errors"
	"io"
)

func runLab(args []string, stdout, stderr io.Writer) error {
	return errors.New("lab: not built yet")
}
