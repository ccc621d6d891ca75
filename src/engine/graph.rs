//! The dependency graph: one node per resource, an edge from each dependency
//! to its dependent.

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    #[error("dependency cycle between resources: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("resource {from:?} refers to {to:?}, which the program does not declare")]
    UnknownReference { from: String, to: String },
    #[error("resource {0:?} is declared twice")]
    Duplicate(String),
}

/// How a node is drawn: its label (may hold `\n`) and an optional fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStyle {
    pub label: String,
    pub fill: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Graph {
    graph: DiGraph<String, ()>,
    index: BTreeMap<String, NodeIndex>,
}

impl Graph {
    /// Builds the graph from `(resource, dependencies)` pairs and checks it
    /// has no cycle.
    pub fn new<'a, I, D>(nodes: I) -> Result<Self, GraphError>
    where
        I: IntoIterator<Item = (&'a str, D)>,
        D: IntoIterator<Item = &'a str>,
    {
        let nodes: Vec<(&str, Vec<&str>)> = nodes
            .into_iter()
            .map(|(n, d)| (n, d.into_iter().collect()))
            .collect();
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for (name, _) in &nodes {
            if index.contains_key(*name) {
                return Err(GraphError::Duplicate(name.to_string()));
            }
            index.insert(name.to_string(), graph.add_node(name.to_string()));
        }
        for (name, deps) in &nodes {
            for dep in deps {
                let from = *index
                    .get(*dep)
                    .ok_or_else(|| GraphError::UnknownReference {
                        from: name.to_string(),
                        to: dep.to_string(),
                    })?;
                graph.update_edge(from, index[*name], ());
            }
        }
        let g = Graph { graph, index };
        g.check_acyclic()?;
        Ok(g)
    }

    fn check_acyclic(&self) -> Result<(), GraphError> {
        if toposort(&self.graph, None).is_ok() {
            return Ok(());
        }
        // Name the nodes of one cycle, in a stable order, closing the loop.
        let mut cycles: Vec<Vec<String>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.graph.find_edge(scc[0], scc[0]).is_some())
            .map(|scc| {
                let mut names: Vec<String> = scc.iter().map(|i| self.graph[*i].clone()).collect();
                names.sort();
                names
            })
            .collect();
        cycles.sort();
        let mut cycle = cycles.swap_remove(0);
        cycle.push(cycle[0].clone());
        Err(GraphError::Cycle(cycle))
    }

    /// Resources in an order where each comes after all its dependencies;
    /// ties are broken by name so the order is stable.
    pub fn topological_order(&self) -> Vec<String> {
        let mut indegree: BTreeMap<&str, usize> = self
            .index
            .iter()
            .map(|(name, i)| {
                let n = self
                    .graph
                    .neighbors_directed(*i, petgraph::Direction::Incoming)
                    .count();
                (name.as_str(), n)
            })
            .collect();
        let mut order = Vec::with_capacity(indegree.len());
        while let Some((&next, _)) = indegree.iter().find(|(_, d)| **d == 0) {
            indegree.remove(next);
            for dependent in self.dependents(next) {
                if let Some(d) = indegree.get_mut(dependent.as_str()) {
                    *d -= 1;
                }
            }
            order.push(next.to_string());
        }
        order
    }

    /// The reverse of [`Self::topological_order`]: dependents first.
    pub fn reverse_topological_order(&self) -> Vec<String> {
        let mut order = self.topological_order();
        order.reverse();
        order
    }

    pub fn dependencies(&self, name: &str) -> Vec<String> {
        self.neighbors(name, petgraph::Direction::Incoming)
    }

    pub fn dependents(&self, name: &str) -> Vec<String> {
        self.neighbors(name, petgraph::Direction::Outgoing)
    }

    /// The graph in Graphviz DOT (petgraph's writer), an arrow from each
    /// dependency to its dependent; `node` gives each node's label and, if
    /// any, its fill colour.
    pub fn to_dot(&self, node: &dyn Fn(&str) -> NodeStyle) -> String {
        use petgraph::dot::{Config, Dot, RankDir};
        let attrs = |_, (_, name): (NodeIndex, &String)| {
            let style = node(name);
            let label = style
                .label
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            match style.fill {
                Some(fill) => {
                    format!("label = \"{label}\", style = filled, fillcolor = \"{fill}\"")
                }
                None => format!("label = \"{label}\""),
            }
        };
        let dot = Dot::with_attr_getters(
            &self.graph,
            &[
                Config::EdgeNoLabel,
                Config::NodeNoLabel,
                Config::RankDir(RankDir::LR),
            ],
            &|_, _| String::new(),
            &attrs,
        );
        format!("{dot:?}")
    }

    /// The graph as a Mermaid flowchart (rendered by code hosts in Markdown).
    pub fn to_mermaid(&self, node: &dyn Fn(&str) -> NodeStyle) -> String {
        let mut out = String::from("flowchart LR\n");
        let mut fills = BTreeMap::new();
        for name in self.topological_order() {
            let style = node(&name);
            let label = style.label.replace('"', "#quot;").replace('\n', "<br/>");
            out.push_str(&format!("    {name}[\"{label}\"]\n"));
            if let Some(fill) = style.fill {
                fills.entry(fill).or_insert_with(Vec::new).push(name);
            }
        }
        for name in self.topological_order() {
            for dependent in self.dependents(&name) {
                out.push_str(&format!("    {name} --> {dependent}\n"));
            }
        }
        for (i, (fill, names)) in fills.iter().enumerate() {
            out.push_str(&format!("    classDef c{i} fill:{fill}\n"));
            out.push_str(&format!("    class {} c{i}\n", names.join(",")));
        }
        out
    }

    fn neighbors(&self, name: &str, dir: petgraph::Direction) -> Vec<String> {
        let Some(i) = self.index.get(name) else {
            return vec![];
        };
        let mut v: Vec<String> = self
            .graph
            .neighbors_directed(*i, dir)
            .map(|n| self.graph[n].clone())
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(nodes: &[(&'static str, &[&'static str])]) -> Result<Graph, GraphError> {
        Graph::new(nodes.iter().map(|(n, d)| (*n, d.iter().copied())))
    }

    #[test]
    fn orders_dependencies_first_and_reverses_for_destroy() {
        let graph = g(&[
            ("function", &["role", "kms_key", "table", "log_group"]),
            ("role", &["kms_key", "table", "log_group"]),
            ("log_group", &["kms_key"]),
            ("kms_alias", &["kms_key"]),
            ("table", &[]),
            ("kms_key", &[]),
        ])
        .unwrap();
        assert_eq!(
            graph.topological_order(),
            [
                "kms_key",
                "kms_alias",
                "log_group",
                "table",
                "role",
                "function"
            ]
        );
        assert_eq!(
            graph.reverse_topological_order(),
            [
                "function",
                "role",
                "table",
                "log_group",
                "kms_alias",
                "kms_key"
            ]
        );
        assert_eq!(
            graph.dependents("kms_key"),
            ["function", "kms_alias", "log_group", "role"]
        );
    }

    #[test]
    fn a_cycle_is_an_error_naming_its_nodes() {
        let err = g(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &[])]).unwrap_err();
        assert_eq!(
            err,
            GraphError::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(
            err.to_string(),
            "dependency cycle between resources: a -> b -> c -> a"
        );
        let self_loop = g(&[("a", &["a"])]).unwrap_err();
        assert_eq!(self_loop, GraphError::Cycle(vec!["a".into(), "a".into()]));
    }

    #[test]
    fn drawn_as_dot_and_mermaid_with_an_arrow_from_each_dependency() {
        let graph = g(&[("role", &["table"]), ("table", &[])]).unwrap();
        let style = |name: &str| NodeStyle {
            label: format!("{name}\n\"t\""),
            fill: (name == "table").then_some("#fdd"),
        };
        let dot = graph.to_dot(&style);
        assert!(dot.starts_with("digraph {"), "{dot}");
        assert!(dot.contains("rankdir=\"LR\""), "{dot}");
        assert!(
            dot.contains(r##"label = "table\n\"t\"", style = filled, fillcolor = "#fdd""##),
            "{dot}"
        );
        assert!(dot.contains("1 -> 0") || dot.contains("0 -> 1"), "{dot}");
        assert_eq!(
            graph.to_mermaid(&style),
            "flowchart LR\n    table[\"table<br/>#quot;t#quot;\"]\n    role[\"role<br/>#quot;t#quot;\"]\n    \
             table --> role\n    classDef c0 fill:#fdd\n    class table c0\n"
        );
    }

    #[test]
    fn a_reference_to_an_undeclared_resource_is_an_error() {
        let err = g(&[("a", &["zz"])]).unwrap_err();
        assert!(matches!(err, GraphError::UnknownReference { .. }));
    }
}
