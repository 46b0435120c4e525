//! A line diff, for comparing two revisions of a task definition: the
//! longest common subsequence of lines, after the common head and tail are
//! set aside (two revisions mostly differ in a few lines in the middle).

/// One line of a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
}

/// Past this many cells, the middle is shown as removed then added rather
/// than aligned (a task definition is a few hundred lines).
const MAX_CELLS: usize = 4_000_000;

/// The lines of `old` and `new`, each marked same, removed or added.
pub fn lines<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..].iter().rev().zip(b[head..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut out: Vec<Line> = a[..head].iter().map(|l| Line::Same(l)).collect();
    if ma.len().saturating_mul(mb.len()) > MAX_CELLS {
        out.extend(ma.iter().map(|l| Line::Removed(l)));
        out.extend(mb.iter().map(|l| Line::Added(l)));
    } else {
        out.extend(middle(ma, mb));
    }
    out.extend(a[a.len() - tail..].iter().map(|l| Line::Same(l)));
    out
}

/// The LCS alignment of two slices of lines.
fn middle<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Line<'a>> {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] =
                if a[i] == b[j] { lcs[at(i + 1, j + 1)] + 1 } else { lcs[at(i + 1, j)].max(lcs[at(i, j + 1)]) };
        }
    }
    let mut out = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(Line::Same(a[i]));
            i += 1;
            j += 1;
        } else if lcs[at(i + 1, j)] >= lcs[at(i, j + 1)] {
            out.push(Line::Removed(a[i]));
            i += 1;
        } else {
            out.push(Line::Added(b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed(l)));
    out.extend(b[j..].iter().map(|l| Line::Added(l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Line::*;

    #[test]
    fn a_changed_line_is_removed_then_added_between_what_stayed() {
        let old = "{\n  \"image\": \"nginx:1\",\n  \"memory\": 256\n}";
        let new = "{\n  \"image\": \"nginx:2\",\n  \"memory\": 256\n}";
        assert_eq!(
            lines(old, new),
            [
                Same("{"),
                Removed("  \"image\": \"nginx:1\","),
                Added("  \"image\": \"nginx:2\","),
                Same("  \"memory\": 256"),
                Same("}")
            ]
        );
    }

    #[test]
    fn insertions_and_deletions_align_on_the_common_lines() {
        assert_eq!(lines("a\nb\nc\nd", "a\nc\nx\nd"), [Same("a"), Removed("b"), Same("c"), Added("x"), Same("d")]);
        assert_eq!(lines("", "a"), [Added("a")]);
        assert_eq!(lines("a", ""), [Removed("a")]);
        assert_eq!(lines("a\nb", "a\nb"), [Same("a"), Same("b")]);
    }
}
