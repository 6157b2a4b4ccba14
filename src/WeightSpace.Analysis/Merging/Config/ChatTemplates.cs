namespace WeightSpace.Analysis.Merging.Config;

/// <summary>The named chat templates a config's <c>chat_template</c> may give (mergekit ships the same four names in
/// <c>mergekit/_data/chat_templates</c>). The Jinja here is WeightSpace's own rendering of each well-known format.</summary>
public static class ChatTemplates
{
    private static readonly Dictionary<string, string> Templates = new(StringComparer.Ordinal)
    {
        // <|im_start|>role\ncontent<|im_end|>\n per message; generation prompt opens an assistant turn.
        ["chatml"] = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
        // Llama 3: BOS once, then header, blank line, trimmed content, <|eot_id|>.
        ["llama3"] = "{% for m in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
            + "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + (m['content'] | trim) + '<|eot_id|>' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
        // Alpaca: the last system message as preamble, then ### Instruction / ### Input / ### Response sections.
        ["alpaca"] = "{% set sys = messages | selectattr('role', 'equalto', 'system') | list %}{% if sys %}{{ (sys | last)['content'] | trim }}{% endif %}\n\n"
            + "{% for m in messages %}{% if m['role'] == 'user' %}{{ '### Instruction:\\n' + (m['content'] | trim) }}"
            + "{% elif m['role'] == 'assistant' %}{{ '### Response:\\n' + (m['content'] | trim) }}"
            + "{% elif m['role'] == 'user_context' %}{{ '### Input:\\n' + (m['content'] | trim) }}{% endif %}"
            + "{% if m['role'] in ['user', 'assistant', 'user_context'] and not loop.last %}{{ '\\n\\n\\n' }}{% endif %}{% endfor %}"
            + "{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{ '\\n### Response:\\n' }}{% endif %}",
        // EXAONE: [|role|]content, user turns end with a newline, others with [|endofturn|]; an empty system turn first.
        ["exaone"] = "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}{{ '[|system|][|endofturn|]\\n' }}{% endif %}"
            + "{{ '[|' + m['role'] + '|]' + m['content'] }}{% if m['role'] == 'user' %}{{ '\\n' }}{% else %}{{ '[|endofturn|]\\n' }}{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '[|assistant|]' }}{% endif %}",
    };

    /// <summary>The template names, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = Templates.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>True if <paramref name="name"/> names a template (mergekit's test: short, one line, no <c>{</c>, a known name).</summary>
    public static bool IsNamed(string name) => name.Length < 256 && !name.Contains('\n', StringComparison.Ordinal) && !name.Contains('{', StringComparison.Ordinal) && Templates.ContainsKey(name);

    /// <summary>The Jinja of a named template.</summary>
    /// <exception cref="KeyNotFoundException">Not a template name.</exception>
    public static string Get(string name) => Templates[name];
}
