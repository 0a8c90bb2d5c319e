//! The function tools offered on tool-calling requests, and the code blocks
//! of technical answers (both languages share them).

/// Function tools offered to the model: name, argument name, and the JSON
/// schema sent in the request's `tools` array.
pub(crate) const TOOLS: &[(&str, &str)] = &[
    ("get_weather", "city"),
    ("search_web", "query"),
    ("get_stock_price", "symbol"),
    ("calculator", "expression"),
    ("lookup_order", "order_id"),
];

/// The request's `tools` array, the same on every tool-calling request.
pub(crate) const TOOLS_JSON: &str = r#"[{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}},{"type":"function","function":{"name":"search_web","description":"Search the web","parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}},{"type":"function","function":{"name":"get_stock_price","description":"Latest price of a stock","parameters":{"type":"object","properties":{"symbol":{"type":"string"}},"required":["symbol"]}}},{"type":"function","function":{"name":"calculator","description":"Evaluate an arithmetic expression","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}}},{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}}]"#;

/// Code blocks shared by both languages.
pub(crate) const CODE: &[&str] = &[
    "```bash\npip install vllm\npython -m vllm.entrypoints.openai.api_server \\\n  --model Qwen/Qwen2.5-7B-Instruct --port 8000 --max-model-len 8192\n```",
    "```python\ndef quick_sort(arr):\n    if len(arr) <= 1:\n        return arr\n    pivot = arr[len(arr) // 2]\n    left = [x for x in arr if x < pivot]\n    mid = [x for x in arr if x == pivot]\n    right = [x for x in arr if x > pivot]\n    return quick_sort(left) + mid + quick_sort(right)\n```",
    "```bash\ngit reset --soft HEAD~1\ngit status\n```",
    "```dockerfile\nFROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD [\"uvicorn\", \"main:app\", \"--host\", \"localhost\", \"--port\", \"8000\"]\n```",
    "```python\nimport json\n\nwith open(\"data.json\", encoding=\"utf-8\") as f:\n    data = json.load(f)\nprint(data.get(\"name\"))\n```",
    "```sql\nSELECT email, COUNT(*) AS n\nFROM users\nGROUP BY email\nHAVING COUNT(*) > 1;\n```",
    "```rust\nfn parse(s: &str) -> Result<u32, std::num::ParseIntError> {\n    let n: u32 = s.trim().parse()?;\n    Ok(n * 2)\n}\n```",
    "```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:latest\n          ports:\n            - containerPort: 8000\n```",
    "```javascript\nasync function load() {\n  const res = await fetch('/api/items');\n  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n}\n```",
    "```bash\nsudo lsof -i :8080\nsudo ss -ltnp | grep 8080\n```",
    "```go\nfunc TestAdd(t *testing.T) {\n\tif got := Add(2, 3); got != 5 {\n\t\tt.Fatalf(\"Add(2, 3) = %d, want 5\", got)\n\t}\n}\n```",
];

/// Topic keywords and the code block (index into [`CODE`]) that fits them.
const CODE_TOPICS: &[(&str, usize)] = &[
    ("vLLM", 0),
    ("排序", 1),
    ("linked list", 1),
    ("Big O", 1),
    ("Git", 2),
    ("git", 2),
    ("Docker", 3),
    ("Node.js", 3),
    ("JSON", 4),
    ("ModuleNotFound", 4),
    ("NoneType", 4),
    ("SQL", 5),
    ("duplicate", 5),
    ("Rust", 6),
    ("Kubernetes", 7),
    ("CrashLoop", 7),
    ("async", 8),
    ("CORS", 8),
    ("streaming", 8),
    ("useEffect", 8),
    ("端口", 9),
    ("502", 9),
    ("Go unit", 10),
];

/// The code block that suits a technical topic, if any.
pub(crate) fn code_for(topic: &str) -> Option<&'static str> {
    CODE_TOPICS.iter().find(|(k, _)| topic.contains(k)).and_then(|(_, i)| CODE.get(*i).copied())
}
