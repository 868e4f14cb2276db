package main

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Secrets an overlay may reference without defining: created out of band (docs/deploy.md).
var externalSecrets = map[string]bool{"newsflow-secrets": true}

// The kinds the manifests may contain; anything else is a mistake (or needs adding here).
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme, batchv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// manifests is one overlay's output, decoded into the k8s.io/api types.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs        map[string]*policyv1.PodDisruptionBudget
	jobs        map[string]*batchv1.Job
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	namespaces  map[string]bool // namespaces of namespaced objects
}

func checkOverlay(root, dir string, roles []Role, probs *problems, report *Report) {
	rel, _ := filepath.Rel(root, dir)
	source := "k8s/" + filepath.Base(dir)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		probs.add(rel, "kustomize build: %v", err)
		return
	}
	m := manifests{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		jobs: map[string]*batchv1.Job{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		namespaces: map[string]bool{},
	}
	// Strict: unknown fields, duplicate fields and wrong types are errors, not silently dropped.
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	undecoded := 0
	for _, res := range resMap.Resources() {
		id := res.CurId().String()
		data, err := res.AsYAML()
		if err != nil {
			probs.add(rel, "%s: %v", id, err)
			continue
		}
		obj, gvk, err := decoder.Decode(data, nil, nil)
		if err != nil {
			probs.add(rel, "%s: strict decoding: %v", id, err)
			undecoded++
			continue
		}
		if meta, ok := obj.(metav1.Object); ok && gvk.Kind != "Namespace" {
			m.namespaces[meta.GetNamespace()] = true
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpas[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			m.pdbs[o.Name] = o
		case *batchv1.Job:
			m.jobs[o.Name] = o
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		case *corev1.Secret:
			m.secrets[o.Name] = o
		case *corev1.Namespace:
		default:
			probs.add(rel, "%s: unexpected kind %s", id, gvk.Kind)
		}
	}
	if undecoded > 0 {
		return // the cross-object rules would only repeat the decoding errors
	}
	if len(m.namespaces) != 1 || m.namespaces[""] {
		probs.add(rel, "every object must be in one explicit namespace (found %v)", sortedKeys(m.namespaces))
	}
	m.check(rel, source, roles, probs, report)
}

func (m manifests) check(rel, source string, roles []Role, probs *problems, report *Report) {
	scaled := map[string]bool{}
	for _, name := range sortedKeys(m.hpas) {
		h := m.hpas[name]
		at := rel + ": HorizontalPodAutoscaler " + name
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || m.deployments[ref.Name] == nil {
			probs.add(at, "scaleTargetRef %s %s/%s is not a Deployment of this overlay", ref.APIVersion, ref.Kind, ref.Name)
		}
		scaled[ref.Name] = true
		minReplicas := int32(1)
		if h.Spec.MinReplicas != nil {
			minReplicas = *h.Spec.MinReplicas
		}
		if minReplicas < 1 || minReplicas > h.Spec.MaxReplicas {
			probs.add(at, "needs 1 <= minReplicas (%d) <= maxReplicas (%d)", minReplicas, h.Spec.MaxReplicas)
		}
		if len(h.Spec.Metrics) == 0 {
			probs.add(at, "has no metric")
		}
		report.Autoscalers = append(report.Autoscalers, Autoscaler{
			Source: source, Name: name, Target: ref.Name, Min: minReplicas, Max: h.Spec.MaxReplicas,
		})
	}

	for _, name := range sortedKeys(m.deployments) {
		d := m.deployments[name]
		at := rel + ": Deployment " + name
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if d.Spec.Selector == nil || err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			probs.add(at, "spec.selector must be non-empty and match the pod template's labels")
		}
		if scaled[name] && d.Spec.Replicas != nil {
			probs.add(at, "sets spec.replicas although a HorizontalPodAutoscaler owns it")
		}
		m.checkPod(at, d.Spec.Template.Spec, probs)
		if httpPort(d.Spec.Template.Spec) != nil {
			m.checkAPI(at, d, probs)
		}
		report.Workloads = append(report.Workloads, m.workload(source, name, d.Spec.Template))
	}

	for _, name := range sortedKeys(m.jobs) {
		j := m.jobs[name]
		m.checkPod(rel+": Job "+name, j.Spec.Template.Spec, probs)
		report.Workloads = append(report.Workloads, m.workload(source, name, j.Spec.Template))
	}
	if !slices.ContainsFunc(report.Workloads, func(w Workload) bool { return w.Source == source && w.Settings == "kit" }) {
		probs.add(rel, "no Job runs newsflow-topics")
	}

	for _, name := range sortedKeys(m.services) {
		m.checkService(rel+": Service "+name, m.services[name], probs)
	}
	for _, name := range sortedKeys(m.pdbs) {
		p := m.pdbs[name]
		if len(m.selected(p.Spec.Selector)) == 0 {
			probs.add(rel+": PodDisruptionBudget "+name, "selects no Deployment's pods")
		}
	}
	for _, role := range roles {
		d := m.deployments[role.Name]
		if d == nil {
			probs.add(rel, "no Deployment for Procfile role %s", role.Name)
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		if d.Spec.Template.Labels["app.kubernetes.io/name"] != role.Service || len(c.Command) > 0 || !slices.Equal(c.Args, []string{role.Role}) {
			probs.add(rel+": Deployment "+role.Name, "must run newsflow-%s %s (label app.kubernetes.io/name=%s, args [%s], no command)",
				role.Service, role.Role, role.Service, role.Role)
		}
	}
}

// checkPod: images, resources, hardening, graceful termination and the references a pod makes.
func (m manifests) checkPod(at string, pod corev1.PodSpec, probs *problems) {
	if pod.TerminationGracePeriodSeconds == nil {
		probs.add(at, "set terminationGracePeriodSeconds (graceful shutdown)")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		probs.add(at, "set automountServiceAccountToken: false (no role talks to the API server)")
	}
	podNonRoot := pod.SecurityContext != nil && isTrue(pod.SecurityContext.RunAsNonRoot)
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	if len(pod.Containers) != 1 {
		probs.add(at, "one container per pod (one role per process), found %d", len(pod.Containers))
	}
	for _, c := range pod.Containers {
		cat := at + ": container " + c.Name
		if c.Image == "" || !strings.Contains(c.Image[strings.LastIndex(c.Image, "/")+1:], ":") || strings.HasSuffix(c.Image, ":latest") {
			probs.add(cat, "image %q needs a pinned tag (set by the overlay's images:)", c.Image)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				probs.add(cat, "no %s request", res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				probs.add(cat, "no %s limit", res)
			}
		}
		sc := c.SecurityContext
		switch {
		case sc == nil:
			probs.add(cat, "no securityContext")
		default:
			if !podNonRoot && !isTrue(sc.RunAsNonRoot) {
				probs.add(cat, "runAsNonRoot must be true (pod or container)")
			}
			if !isTrue(sc.ReadOnlyRootFilesystem) {
				probs.add(cat, "readOnlyRootFilesystem must be true")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				probs.add(cat, "allowPrivilegeEscalation must be false")
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				probs.add(cat, "capabilities must drop ALL")
			}
		}
		tmp := false
		for _, vm := range c.VolumeMounts {
			if !volumes[vm.Name] {
				probs.add(cat, "mounts volume %q, which the pod does not define", vm.Name)
			}
			tmp = tmp || vm.MountPath == "/tmp"
		}
		if !tmp {
			probs.add(cat, "a read-only root file system needs a writable /tmp (emptyDir)")
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil && m.configMaps[ef.ConfigMapRef.Name] == nil {
				probs.add(cat, "envFrom ConfigMap %q is not in the overlay", ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil {
				m.checkSecret(cat, ef.SecretRef.Name, "", probs)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				m.checkSecret(cat, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key, probs)
			}
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && m.configMaps[e.ValueFrom.ConfigMapKeyRef.Name] == nil {
				probs.add(cat, "env %s: ConfigMap %q is not in the overlay", e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
}

func (m manifests) checkSecret(at, name, key string, probs *problems) {
	s := m.secrets[name]
	switch {
	case s == nil && !externalSecrets[name]:
		probs.add(at, "Secret %q is neither in the overlay nor a documented external secret", name)
	case s != nil && key != "":
		if _, ok := s.Data[key]; !ok {
			if _, ok := s.StringData[key]; !ok {
				probs.add(at, "Secret %q has no key %q", name, key)
			}
		}
	}
}

// checkAPI: an HTTP role has liveness on /healthz, readiness on /readyz, a Service and a PDB.
func (m manifests) checkAPI(at string, d *appsv1.Deployment, probs *problems) {
	c := d.Spec.Template.Spec.Containers[0]
	port := httpPort(d.Spec.Template.Spec)
	probe := func(kind string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || !samePort(p.HTTPGet.Port, *port) {
			probs.add(at, "%s probe must GET %s on the http port", kind, path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	template := labels.Set(d.Spec.Template.Labels)
	hasService := false
	for _, s := range m.services {
		hasService = hasService || (len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(template))
	}
	if !hasService {
		probs.add(at, "serves HTTP but no Service selects it")
	}
	hasPDB := false
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		hasPDB = hasPDB || (err == nil && !sel.Empty() && sel.Matches(template))
	}
	if !hasPDB {
		probs.add(at, "serves HTTP but no PodDisruptionBudget covers it")
	}
}

// checkService: the selector picks exactly one Deployment, and each targetPort is a port of it.
func (m manifests) checkService(at string, s *corev1.Service, probs *problems) {
	if len(s.Spec.Selector) == 0 {
		probs.add(at, "has no selector")
		return
	}
	sel := labels.SelectorFromSet(s.Spec.Selector)
	var matched []*appsv1.Deployment
	for _, d := range m.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			matched = append(matched, d)
		}
	}
	if len(matched) != 1 {
		probs.add(at, "selector must match exactly one Deployment's pods, matches %d", len(matched))
		return
	}
	for _, p := range s.Spec.Ports {
		found := false
		for _, c := range matched[0].Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				found = found || samePort(p.TargetPort, cp)
			}
		}
		if !found {
			probs.add(at, "targetPort %s is not a container port of Deployment %s", p.TargetPort.String(), matched[0].Name)
		}
	}
}

func (m manifests) selected(selector *metav1.LabelSelector) []string {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || sel.Empty() {
		return nil
	}
	var out []string
	for name, d := range m.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, name)
		}
	}
	return out
}

// workload is what the report says about a pod template: the NEWSFLOW_* environment it gets (from
// its ConfigMaps, then its own env) and which settings class reads it.
func (m manifests) workload(source, name string, t corev1.PodTemplateSpec) Workload {
	c := t.Spec.Containers[0]
	env := map[string]*string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && m.configMaps[ef.ConfigMapRef.Name] != nil {
			for k, v := range m.configMaps[ef.ConfigMapRef.Name].Data {
				env[ef.Prefix+k] = &v
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = &e.Value
		} else {
			env[e.Name] = nil
		}
	}
	settings := t.Labels["app.kubernetes.io/name"]
	if len(c.Command) > 0 && c.Command[0] == "newsflow-topics" {
		settings = "kit"
	}
	return Workload{Source: source, Name: name, Settings: settings, Command: append(slices.Clone(c.Command), c.Args...), Env: newsflowEnv(env)}
}

func httpPort(pod corev1.PodSpec) *corev1.ContainerPort {
	for _, c := range pod.Containers {
		for i := range c.Ports {
			if c.Ports[i].Name == "http" {
				return &c.Ports[i]
			}
		}
	}
	return nil
}

func samePort(ref intstr.IntOrString, port corev1.ContainerPort) bool {
	if ref.Type == intstr.String {
		return ref.StrVal == port.Name
	}
	return ref.IntVal == port.ContainerPort
}

func isTrue(b *bool) bool { return b != nil && *b }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
