"""Review service: review rounds, reviewer assignments, scores, ranking, selection within caps, ministry outcomes, post-evaluation.
"""
