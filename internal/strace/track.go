package strace

import (
	"fmt"
	"maps"
	"strings"
)

type objKind int

const (
	sockObj objKind = iota
	epollObj
)

// object is an open file a descriptor refers to: dup and fork make more
// descriptors for the same object.
type object struct {
	kind    objKind
	name    string // sock#N at creation; ep#N when it first watches a socket
	inode   string // "socket:[9319]" from strace -y, when known
	watched bool   // epoll: a socket was added
}

type entry struct {
	obj     *object
	cloexec bool
}

type process struct {
	proc int
	fds  map[int]entry // shared by threads, copied by fork
}

// pendingStep is a step whose names are filled in at the end, because an
// epoll instance is named, and kept, only once it watches a socket.
type pendingStep struct {
	step      Step
	refs      []*object
	news      []*object
	tentative *object         // keep the step only if this epoll instance gets watched
	ready     map[int]*object // select, poll: the sockets of its sets, by descriptor, to name what it returns
}

type tracker struct {
	procs   map[int]*process // by pid or thread id
	byInode map[string]*object
	root    *process
	nproc   int
	nsock   int
	nep     int
	started bool // a call was seen: a later execve is the program's own
	steps   []pendingStep
}

func (t *tracker) process(pid int) *process {
	if p := t.procs[pid]; p != nil {
		return p
	}
	if t.root == nil {
		t.nproc++
		t.root = &process{proc: t.nproc, fds: make(map[int]entry)}
	}
	t.procs[pid] = t.root // the first pid, or a thread we did not see made
	return t.root
}

func (t *tracker) newSock(inode string) *object {
	t.nsock++
	o := &object{kind: sockObj, name: fmt.Sprintf("sock#%d", t.nsock)}
	if strings.HasPrefix(inode, "socket:") {
		o.inode = inode
		t.byInode[inode] = o
	}
	return o
}

func (t *tracker) watch(ep *object) {
	if !ep.watched {
		ep.watched = true
		t.nep++
		ep.name = fmt.Sprintf("ep#%d", t.nep)
	}
}

// resolve returns the object behind fd in p, or nil. path is strace -y's
// annotation, "" without -y.
func (t *tracker) resolve(p *process, fd int, path string) *object {
	e, ok := p.fds[fd]
	switch {
	case strings.HasPrefix(path, "socket:"):
		if o := t.byInode[path]; o != nil {
			p.fds[fd] = entry{obj: o, cloexec: e.cloexec}
			return o
		}
		if ok && e.obj.kind == sockObj && e.obj.inode == "" {
			e.obj.inode = path
			t.byInode[path] = e.obj
			return e.obj
		}
		o := t.newSock(path) // made where the trace did not show
		p.fds[fd] = entry{obj: o}
		return o
	case path != "":
		if ok && e.obj.kind == epollObj && strings.Contains(path, "eventpoll") {
			return e.obj
		}
		delete(p.fds, fd) // -y says it is no socket: we missed a close
		return nil
	case ok:
		return e.obj
	}
	return nil
}

// arg resolves argument i of c as a descriptor.
func (t *tracker) arg(p *process, c Call, i int) (int, *object) {
	fd, path, ok := parseFD(c.Arg(i))
	if !ok {
		return -1, nil
	}
	return fd, t.resolve(p, fd, path)
}

// made records the descriptor c returned as referring to o.
func (t *tracker) made(p *process, c Call, o *object, cloexec bool) bool {
	fd, path, ok := c.RetFD()
	if !ok {
		return false
	}
	if o == nil {
		o = t.newSock(path)
	}
	p.fds[fd] = entry{obj: o, cloexec: cloexec}
	return true
}

func (t *tracker) emit(p *process, c Call, fd int, refs, news []*object, tentative *object) {
	t.steps = append(t.steps, pendingStep{
		step:      Step{Call: c, Family: Family(c), Proc: p.proc, FD: fd},
		refs:      refs,
		news:      news,
		tentative: tentative,
	})
}

// retObj returns the object just recorded for the descriptor c returned.
func (t *tracker) retObj(p *process, c Call) []*object {
	fd, _, ok := c.RetFD()
	if !ok {
		return nil
	}
	return []*object{p.fds[fd].obj}
}

// call follows one system call of process p.
func (t *tracker) call(p *process, c Call) {
	switch c.Name {
	case "socket":
		t.made(p, c, nil, c.HasFlag(1, "SOCK_CLOEXEC"))
		t.emit(p, c, -1, nil, t.retObj(p, c), nil)

	case "socketpair":
		var news []*object
		if !c.Failed() {
			fds, paths := fdsIn(c.Arg(3))
			for i, fd := range fds {
				o := t.newSock(paths[i])
				p.fds[fd] = entry{obj: o, cloexec: c.HasFlag(1, "SOCK_CLOEXEC")}
				news = append(news, o)
			}
		}
		t.emit(p, c, -1, nil, news, nil)

	case "accept", "accept4":
		fd, o := t.arg(p, c, 0)
		if o == nil || o.kind != sockObj {
			return
		}
		t.made(p, c, nil, c.HasFlag(3, "SOCK_CLOEXEC"))
		t.emit(p, c, fd, []*object{o}, t.retObj(p, c), nil)

	case "dup", "dup2", "dup3":
		fd, o := t.arg(p, c, 0)
		if o == nil {
			if nfd, _, ok := c.RetFD(); ok && c.Name != "dup" {
				delete(p.fds, nfd) // a socket descriptor overwritten by another file
			}
			return
		}
		t.made(p, c, o, c.Name == "dup3" && c.HasFlag(2, "O_CLOEXEC"))
		t.emit(p, c, fd, []*object{o}, t.retObj(p, c), nil)

	case "fcntl":
		fd, o := t.arg(p, c, 0)
		if o == nil {
			return
		}
		var news []*object
		switch {
		case c.HasFlag(1, "F_DUPFD") || c.HasFlag(1, "F_DUPFD_CLOEXEC"):
			t.made(p, c, o, c.HasFlag(1, "F_DUPFD_CLOEXEC"))
			news = t.retObj(p, c)
		case c.HasFlag(1, "F_SETFD") && !c.Failed():
			e := p.fds[fd]
			e.cloexec = c.HasFlag(2, "FD_CLOEXEC")
			p.fds[fd] = e
		}
		t.emit(p, c, fd, []*object{o}, news, nil)

	case "close":
		fd, o := t.arg(p, c, 0)
		if o == nil {
			return
		}
		delete(p.fds, fd)
		var tentative *object
		if o.kind == epollObj {
			tentative = o
		}
		t.emit(p, c, fd, []*object{o}, nil, tentative)

	case "poll", "ppoll":
		t.readiness(p, c, c.Arg(0))

	case "select", "pselect6", "_newselect":
		t.readiness(p, c, c.Arg(1), c.Arg(2), c.Arg(3))

	case "epoll_create", "epoll_create1":
		o := &object{kind: epollObj}
		if !t.made(p, c, o, c.HasFlag(0, "EPOLL_CLOEXEC")) {
			return
		}
		t.emit(p, c, -1, nil, []*object{o}, o)

	case "epoll_ctl":
		fd, ep := t.arg(p, c, 0)
		_, s := t.arg(p, c, 2)
		if ep == nil || ep.kind != epollObj || s == nil || s.kind != sockObj {
			return
		}
		t.watch(ep)
		t.emit(p, c, fd, []*object{ep, s}, nil, nil)

	case "epoll_wait", "epoll_pwait", "epoll_pwait2":
		fd, ep := t.arg(p, c, 0)
		if ep == nil || !ep.watched {
			return
		}
		t.emit(p, c, fd, []*object{ep}, nil, nil)

	case "clone", "clone3", "fork", "vfork":
		t.fork(p, c)

	case "execve", "execveat":
		if !c.Failed() {
			maps.DeleteFunc(p.fds, func(_ int, e entry) bool { return e.cloexec })
		}
		t.emit(p, c, -1, nil, nil, nil)

	default:
		if !fdFirst[c.Name] {
			return
		}
		fd, o := t.arg(p, c, 0)
		if o == nil || o.kind != sockObj {
			return
		}
		t.emit(p, c, fd, []*object{o}, nil, nil)
	}
}

// readiness emits a poll or select call whose fd sets hold a socket.
func (t *tracker) readiness(p *process, c Call, sets ...string) {
	var refs []*object
	ready := map[int]*object{}
	first := -1
	for _, set := range sets {
		fds, paths := fdsIn(set)
		for i, fd := range fds {
			if o := t.resolve(p, fd, paths[i]); o != nil && o.kind == sockObj {
				refs = append(refs, o)
				ready[fd] = o
				if first < 0 {
					first = fd
				}
			}
		}
	}
	if len(refs) > 0 {
		t.emit(p, c, first, refs, nil, nil)
		t.steps[len(t.steps)-1].ready = ready
	}
}

// readyText names what a select or poll returned ready, from strace's
// "2 (in [5], out [5])" or "1 ([{fd=5, revents=POLLIN}])": "in [sock#2],
// out [sock#2]" or "sock#2 POLLIN". A descriptor that is no socket of its
// sets keeps its number. "" when nothing was ready or the call failed.
func readyText(c Call, objs map[int]*object) string {
	if c.Failed() || c.NoReturn || c.Ret <= 0 {
		return ""
	}
	open, end := strings.IndexByte(c.RetText, '('), strings.LastIndexByte(c.RetText, ')')
	if open < 0 || end < open {
		return ""
	}
	name := func(fd int) string {
		if o := objs[fd]; o != nil {
			return o.name
		}
		return fmt.Sprint(fd)
	}
	var out []string
	for _, part := range splitArgs(c.RetText[open+1 : end]) {
		set, list, _ := strings.Cut(part, " ")
		switch {
		case set == "in" || set == "out" || set == "except": // select
			fds, _ := fdsIn(list)
			names := make([]string, len(fds))
			for i, fd := range fds {
				names[i] = name(fd)
			}
			out = append(out, set+" ["+strings.Join(names, " ")+"]")
		case strings.HasPrefix(part, "[{"): // poll: [{fd=5, revents=POLLIN}, ...]
			for _, entry := range splitArgs(strings.TrimSuffix(strings.TrimPrefix(part, "["), "]")) {
				var fd, revents string
				for _, field := range splitArgs(strings.Trim(entry, "{}")) {
					k, v, _ := strings.Cut(field, "=")
					switch k {
					case "fd":
						fd = v
					case "revents":
						revents = v
					}
				}
				if n, _, ok := parseFD(fd); ok {
					out = append(out, name(n)+" "+revents)
				}
			}
		}
	}
	return strings.Join(out, ", ")
}

// fork follows clone, clone3, fork and vfork. A thread joins p; a new
// process gets a copy of p's descriptors, or p's own table with CLONE_FILES.
func (t *tracker) fork(p *process, c Call) {
	child := int(c.Ret)
	ok := !c.Failed() && !c.NoReturn && child > 0
	thread := (c.Name == "clone" || c.Name == "clone3") && isThread(c)
	if thread {
		if ok {
			t.procs[child] = p
		}
		return
	}
	var news []*object
	if ok {
		fds := p.fds
		if !(c.Name == "clone" || c.Name == "clone3") || !sharesFiles(c) {
			fds = maps.Clone(p.fds)
		}
		t.nproc++
		t.procs[child] = &process{proc: t.nproc, fds: fds}
		news = []*object{{name: fmt.Sprintf("proc#%d", t.nproc)}}
	}
	t.emit(p, c, -1, nil, news, nil)
}
