package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// checkDockerfile parses a Dockerfile with BuildKit's parser and linter, then checks that the build
// args given to it are declared, that every ARG the versions file pins has that default, that
// the final stage runs as a non-root user, and that every COPY/bind source exists in the context
// and survives .dockerignore.
func checkDockerfile(ctxDir, path string, args, versions map[string]string, where string, probs *problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		probs.add(where, "dockerfile: %v", err)
		return
	}
	result, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		probs.add(where, "parse: %v", err)
		return
	}
	for _, w := range result.Warnings {
		probs.add(where, "parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		probs.add(where, "lint %s (line %d): %s", rule, line, msg)
	}})
	stages, metaArgs, err := instructions.Parse(result.AST, lint)
	if err != nil {
		probs.add(where, "instructions: %v", err)
		return
	}
	if len(stages) == 0 {
		probs.add(where, "no stage")
		return
	}

	declared := map[string]bool{}
	global := map[string]string{}
	for _, meta := range metaArgs {
		for _, kv := range meta.Args {
			declared[kv.Key] = true
			if kv.Value != nil {
				global[kv.Key] = *kv.Value
			}
			if want, pinned := versions[kv.Key]; pinned && (kv.Value == nil || *kv.Value != want) {
				probs.add(where, "ARG %s must default to %s (deploy/local/versions.env)", kv.Key, want)
			}
		}
	}
	for _, stage := range stages {
		for _, cmd := range stage.Commands {
			if arg, ok := cmd.(*instructions.ArgCommand); ok {
				for _, kv := range arg.Args {
					declared[kv.Key] = true
				}
			}
		}
	}
	for key := range args {
		if !declared[key] {
			probs.add(where, "build arg %s is passed but never declared with ARG", key)
		}
	}

	ignore, err := dockerignore(ctxDir)
	if err != nil {
		probs.add(where, "%v", err)
		return
	}
	stageNames := map[string]bool{}
	for i, stage := range stages {
		vars := stageVars(stage, global, args)
		checkStageSources(ctxDir, stage, vars, stageNames, ignore, where, probs)
		if stage.Name != "" {
			stageNames[strings.ToLower(stage.Name)] = true
		}
		if i == len(stages)-1 {
			checkFinalUser(stage, stages, where, probs)
		}
	}
}

// stageVars: the values ARGs take in a stage (global defaults, the stage's defaults, build args).
func stageVars(stage instructions.Stage, global, args map[string]string) map[string]string {
	vars := map[string]string{}
	for _, cmd := range stage.Commands {
		if arg, ok := cmd.(*instructions.ArgCommand); ok {
			for _, kv := range arg.Args {
				switch {
				case args[kv.Key] != "":
					vars[kv.Key] = args[kv.Key]
				case kv.Value != nil:
					vars[kv.Key] = *kv.Value
				default:
					vars[kv.Key] = global[kv.Key]
				}
			}
		}
	}
	return vars
}

func checkStageSources(ctxDir string, stage instructions.Stage, vars map[string]string, stages map[string]bool,
	ignore *patternmatcher.PatternMatcher, where string, probs *problems) {
	expand := func(s string) (string, error) { return os.Expand(s, func(k string) string { return vars[k] }), nil }
	for _, cmd := range stage.Commands {
		if c, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
			if err := c.Expand(expand); err != nil {
				probs.add(where, "%s: %v", cmd.Name(), err)
				continue
			}
		}
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				continue
			}
			for _, src := range c.SourcePaths {
				checkSource(ctxDir, src, ignore, fmt.Sprintf("%s: COPY %s", where, src), probs)
			}
		case *instructions.AddCommand:
			probs.add(where, "use COPY, not ADD (%s)", strings.Join(c.SourcePaths, " "))
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.Type != instructions.MountTypeBind {
					continue
				}
				if m.From != "" {
					if !stages[strings.ToLower(m.From)] {
						probs.add(where, "RUN --mount from=%s: no earlier stage of that name", m.From)
					}
					continue
				}
				checkSource(ctxDir, m.Source, ignore, fmt.Sprintf("%s: RUN --mount source=%s", where, m.Source), probs)
			}
		}
	}
}

// checkSource: the path exists in the build context and .dockerignore keeps it (for a directory:
// keeps at least one file of it, and its pyproject.toml if it has one).
func checkSource(ctxDir, src string, ignore *patternmatcher.PatternMatcher, where string, probs *problems) {
	rel := filepath.Clean(strings.TrimPrefix(src, "/"))
	full := filepath.Join(ctxDir, rel)
	info, err := os.Stat(full)
	if err != nil {
		probs.add(where, "not in the build context (%s)", rel)
		return
	}
	if excluded(ignore, rel) {
		probs.add(where, ".dockerignore excludes it")
		return
	}
	if !info.IsDir() {
		return
	}
	kept := 0
	_ = filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		r, _ := filepath.Rel(ctxDir, p)
		if excluded(ignore, r) {
			if d.Name() == "pyproject.toml" {
				probs.add(where, ".dockerignore excludes %s", r)
			}
			return nil
		}
		kept++
		return nil
	})
	if kept == 0 {
		probs.add(where, ".dockerignore excludes every file of it")
	}
}

func excluded(ignore *patternmatcher.PatternMatcher, rel string) bool {
	if ignore == nil {
		return false
	}
	hit, err := ignore.MatchesOrParentMatches(filepath.ToSlash(rel))
	return err == nil && hit
}

func dockerignore(ctxDir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(ctxDir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return patternmatcher.New(patterns)
}

// checkFinalUser: the image that runs must not run as root (its own USER, or its base stage's).
func checkFinalUser(stage instructions.Stage, stages []instructions.Stage, where string, probs *problems) {
	for s := &stage; s != nil; s = baseStage(*s, stages) {
		for i := len(s.Commands) - 1; i >= 0; i-- {
			if u, ok := s.Commands[i].(*instructions.UserCommand); ok {
				if name, _, _ := strings.Cut(u.User, ":"); name == "root" || name == "0" {
					probs.add(where, "the final stage runs as root (USER %s)", u.User)
				}
				return
			}
		}
	}
	if strings.HasPrefix(stage.BaseName, "docker.elastic.co/elasticsearch/") {
		return // the official Elasticsearch image runs as its `elasticsearch` user
	}
	probs.add(where, "the final stage has no USER: it would run as root")
}

func baseStage(s instructions.Stage, stages []instructions.Stage) *instructions.Stage {
	for i := range stages {
		if stages[i].Name != "" && strings.EqualFold(stages[i].Name, s.BaseName) {
			return &stages[i]
		}
	}
	return nil
}
