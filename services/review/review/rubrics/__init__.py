"""Default rubrics (评审细则) per programme, as YAML data; ``post_evaluation.yaml`` scores implementation.

One file per programme code: service_team, regional_base, national_base, key_expert, chizi,
postdoc_hosting. The shape is documented in ``review.domain.rubrics``; weights are quoted strings so they
parse exactly as Decimal. A call may override a programme's rubric; these are the fallback.

Usage:
    from review.domain.rubrics import load_default_rubric
    rubric = load_default_rubric("service_team")
"""
