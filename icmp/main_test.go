package icmp

import (
	"os"
	"testing"

	"github.com/socklab/socklab/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
