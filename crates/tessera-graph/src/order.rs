//! Topological order and cycle finding.

/// Orders nodes so that each comes after every node in its `deps`; ties keep
/// the given order. On a cycle, returns the nodes on it in data-flow order,
/// starting with the lowest index.
pub fn topological_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    for root in 0..deps.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next dependency to visit).
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match marks[dep] {
                    Mark::New => {
                        marks[dep] = Mark::Open;
                        stack.push((dep, 0));
                    }
                    Mark::Open => {
                        let start = stack
                            .iter()
                            .position(|&(n, _)| n == dep)
                            .expect("open node is on the stack");
                        // The stack runs consumer -> dependency; a cycle reads
                        // better in data-flow order, so reverse it.
                        let mut cycle: Vec<usize> =
                            stack[start..].iter().map(|&(n, _)| n).collect();
                        cycle.reverse();
                        // Start at the node written first in the file.
                        let first = (0..cycle.len())
                            .min_by_key(|&i| cycle[i])
                            .expect("a cycle has nodes");
                        cycle.rotate_left(first);
                        return Err(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_ties_keep_file_order() {
        // 0 reads 2, 1 reads nothing, 2 reads 1.
        assert_eq!(
            topological_order(&[vec![2], vec![], vec![1]]),
            Ok(vec![1, 2, 0])
        );
        assert_eq!(topological_order(&[vec![], vec![]]), Ok(vec![0, 1]));
    }

    #[test]
    fn cycles_are_named_in_data_flow_order() {
        // 0 reads 1, 1 reads 2, 2 reads 0; 3 is outside the cycle.
        let cycle = topological_order(&[vec![1], vec![2], vec![0], vec![0]]).unwrap_err();
        assert_eq!(cycle, vec![0, 2, 1]);
        assert_eq!(topological_order(&[vec![0]]).unwrap_err(), vec![0]);
    }
}
