package sys

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// productFiles returns the module's non-test Go files, relative to its root.
func productFiles(t *testing.T) (root string, files []string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above sys/: %v", err)
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d Go files under %s; the walk is broken", len(files), root)
	}
	return root, files
}

// Only package sys calls golang.org/x/sys/unix functions; everyone else
// may use its constants and types. Calls are told from conversions by
// looking the name up in the type-checked unix package.
func TestOnlySysCallsUnix(t *testing.T) {
	root, files := productFiles(t)
	fset := token.NewFileSet()
	unixPkg, err := importer.ForCompiler(fset, "source", nil).Import("golang.org/x/sys/unix")
	if err != nil {
		t.Fatalf("type-check x/sys/unix: %v", err)
	}
	checked := 0
	for _, rel := range files {
		if strings.HasPrefix(rel, "sys"+string(filepath.Separator)) {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		name := importName(f, "golang.org/x/sys/unix", "unix")
		if name == "" {
			continue
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
				if _, isFunc := unixPkg.Scope().Lookup(sel.Sel.Name).(*types.Func); isFunc {
					t.Errorf("%s: calls unix.%s; only package sys may call x/sys/unix functions", fset.Position(call.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no file outside sys imports x/sys/unix; the check checked nothing")
	}
}

// No product file reaches for netlink: not the net package's interface
// listing, not gopacket's netlink-backed handles, not a netlink library.
func TestNetlinkFreeSource(t *testing.T) {
	root, files := productFiles(t)
	banned := map[string]string{
		"net.Interfaces": "", "net.InterfaceByName": "", "net.InterfaceByIndex": "",
		"net.InterfaceAddrs": "", "pcapgo.NewEthernetHandle": "",
	}
	bannedImports := []string{
		"github.com/gopacket/gopacket/pcap", "github.com/gopacket/gopacket/routing",
		"github.com/gopacket/gopacket/afpacket",
		"github.com/vishvananda/netlink", "github.com/mdlayher/netlink", "github.com/jsimonetti/rtnetlink",
	}
	fset := token.NewFileSet()
	for _, rel := range files {
		f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, b := range bannedImports {
				if p == b || strings.HasPrefix(p, b+"/") {
					t.Errorf("%s: imports %s, a netlink path", fset.Position(imp.Pos()), p)
				}
			}
			// gopacket only from its maintained home, never the archived fork
			if strings.Contains(p, "/gopacket") && !strings.HasPrefix(p, "github.com/gopacket/gopacket") {
				t.Errorf("%s: imports %s; use github.com/gopacket/gopacket", fset.Position(imp.Pos()), p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok {
					if _, bad := banned[id.Name+"."+sel.Sel.Name]; bad {
						t.Errorf("%s: uses %s.%s, which opens a netlink socket", fset.Position(sel.Pos()), id.Name, sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
}

// importName returns the name under which f imports path, or "".
func importName(f *ast.File, path, def string) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return def
		}
	}
	return ""
}
