"""evaluate under torch.inference_mode(), collecting all scores and labels and computing the
mean cross-entropy and accuracy once at the end."""

TASK = "evaluate"
CELL = "evaluate_solution"
SOURCE = '''
def evaluate(model, batches, device, amp_dtype=None):
    device = torch.device(device)
    model.eval()
    all_scores, all_labels = [], []
    with torch.inference_mode():
        for x, y in batches:
            x, y = x.to(device), y.to(device)
            with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                all_scores.append(model(x).float())
            all_labels.append(y)
        scores = torch.cat(all_scores)
        labels = torch.cat(all_labels)
        loss = F.cross_entropy(scores, labels)
        accuracy = (scores.argmax(dim=1) == labels).float().mean()
    return {"loss": float(loss), "accuracy": float(accuracy)}
'''
